import { describe, expect, it } from 'vitest';
import { parseCheckOutput } from '../../src/haproxy/index.ts';

// Captured from `haproxy -c -f <file>` (HAProxy 2.6.12, Debian): stdout and stderr together.
const REJECTED = `[NOTICE]   (4682) : haproxy version is 2.6.12-1+deb12u4
[NOTICE]   (4682) : path to executable is /usr/sbin/haproxy
[ALERT]    (4682) : config : parsing [bad.cfg:10] : unknown keyword 'bogus_keyword' in 'frontend' section
[ALERT]    (4682) : config : parsing [bad.cfg:14] : balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.
[ALERT]    (4682) : config : Error(s) found in configuration file : bad.cfg
[ALERT]    (4682) : config : Fatal errors found in configuration.
`;

const WARNED = `Warnings were found.
Configuration file is valid
[NOTICE]   (4685) : haproxy version is 2.6.12-1+deb12u4
[NOTICE]   (4685) : path to executable is /usr/sbin/haproxy
[WARNING]  (4685) : config : missing timeouts for frontend 'fe'.
   | While not properly invalid, you will certainly encounter various problems
   | with such a configuration. To fix this, please ensure that all following
   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.
[WARNING]  (4685) : config : missing timeouts for backend 'be'.
   | While not properly invalid, you will certainly encounter various problems
   | with such a configuration. To fix this, please ensure that all following
   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.
`;

const MISSING_FILE = `[NOTICE]   (4687) : haproxy version is 2.6.12-1+deb12u4
[NOTICE]   (4687) : path to executable is /usr/sbin/haproxy
[ALERT]    (4687) : config : Cannot open configuration file/directory nonexist.cfg : No such file or directory
`;

const CONTINUATION = 'While not properly invalid, you will certainly encounter various problems with such a configuration. To fix this, please ensure that all following timeouts are set to a non-zero value: \'client\', \'connect\', \'server\'.';

describe('parseCheckOutput', () => {
  it.each([
    {
      name: 'rejected: specific alerts with file:line, summaries dropped',
      output: REJECTED,
      alerts: [
        "config : parsing [bad.cfg:10] : unknown keyword 'bogus_keyword' in 'frontend' section",
        "config : parsing [bad.cfg:14] : balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.",
      ],
      warnings: [],
    },
    {
      name: 'valid with warnings: continuation lines joined',
      output: WARNED,
      alerts: [],
      warnings: [`config : missing timeouts for frontend 'fe'. ${CONTINUATION}`, `config : missing timeouts for backend 'be'. ${CONTINUATION}`],
    },
    {
      name: 'missing file',
      output: MISSING_FILE,
      alerts: ['config : Cannot open configuration file/directory nonexist.cfg : No such file or directory'],
      warnings: [],
    },
    { name: 'clean', output: 'Configuration file is valid\n', alerts: [], warnings: [] },
    { name: 'nothing', output: '', alerts: [], warnings: [] },
  ])('$name', ({ output, alerts, warnings }) => {
    expect(parseCheckOutput(output)).toEqual({ alerts, warnings });
  });

  it('reads reload failures from the master log the same way', () => {
    const log = `[NOTICE]   (4713) : Reloading HAProxy
[ALERT]    (4713) : Binding [haproxy.cfg:16] for frontend fe: cannot bind socket (Address already in use) for [127.0.0.1:18081]
[ALERT]    (4713) : [haproxy.main()] Some protocols failed to start their listeners! Exiting.
[WARNING]  (4713) : Loading failure!
`;
    expect(parseCheckOutput(log)).toEqual({
      alerts: [
        'Binding [haproxy.cfg:16] for frontend fe: cannot bind socket (Address already in use) for [127.0.0.1:18081]',
        '[haproxy.main()] Some protocols failed to start their listeners! Exiting.',
      ],
      warnings: ['Loading failure!'],
    });
  });
});
