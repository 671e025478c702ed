import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/program.ts';
import { processIo } from '../../src/cli/io.ts';
import { parseConfig } from '../../src/config/index.ts';

const root = path.resolve(import.meta.dirname, '../..');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  ports?: string[];
}

const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };

describe('docker-compose.yml', () => {
  it('defines Consul, ipx and two demo services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['consul', 'hello', 'ipx', 'world']);
    expect(compose.services.consul?.image).toMatch(/^hashicorp\/consul:/);
  });

  it('builds from a Dockerfile that exists and copies only paths that exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.build) continue;
      const dockerfile = path.join(root, service.build.context, service.build.dockerfile);
      expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
      const copies = [...readFileSync(dockerfile, 'utf8').matchAll(/^COPY\s+(.+)\s+\S+$/gm)].flatMap((m) => (m[1] as string).split(/\s+/));
      for (const source of copies) expect(existsSync(path.join(root, service.build.context, source)), `${dockerfile}: COPY ${source}`).toBe(true);
    }
  });

  it('runs ipx with a config file that exists and is valid', () => {
    const command = compose.services.ipx?.command ?? [];
    expect(command[0]).toBe('watch');
    const configPath = command[command.indexOf('-c') + 1] as string;
    const local = path.join(root, configPath.replace(/^\/app\//, ''));
    expect(existsSync(local), local).toBe(true);
    const config = parseConfig(parse(readFileSync(local, 'utf8')));
    expect(config.listen.http).toBe('0.0.0.0:8080');
    expect(compose.services.ipx?.ports).toContain('127.0.0.1:8080:8080');
  });

  it('uses only commands the CLI has', () => {
    const commands = buildProgram(processIo()).commands.map((c) => c.name());
    for (const service of Object.values(compose.services)) {
      if (service.build) expect(commands).toContain(service.command?.[0]);
    }
  });

  it('starts the demo services with the demo-service command', () => {
    for (const name of ['hello', 'world']) {
      const command = compose.services[name]?.command ?? [];
      expect(command.slice(0, 3)).toEqual(['demo-service', '--name', name]);
      expect(command).toContain('--register');
    }
  });
});
