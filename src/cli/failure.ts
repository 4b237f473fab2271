// One clear line for a connection that could not be made: what failed, to where, and what to check.
export function describeConnectError(err: Error, host: string, port: number): string {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where}: connection refused (is a lifeline server listening there?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return `cannot connect to ${where}: the name "${host}" does not resolve (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return `cannot connect to ${where}: ${code === 'EHOSTUNREACH' ? 'host' : 'network'} unreachable (${code})`;
    case 'ETIMEDOUT':
    case 'LIFELINE_CONNECT_TIMEOUT':
      return `cannot connect to ${where}: timed out (a firewall dropping packets, or the host is down)`;
    case 'LIFELINE_CONNECTION_LOST':
      return `lost the connection to ${where}: ${err.message}`;
    default:
      return `${where}: ${err.message}`;
  }
}
