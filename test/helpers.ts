// Shared test data: Tracee security_file_open lines in Tracee's own JSON layout.

export interface LineFields {
  timestamp?: string;
  processId?: number;
  processName?: string;
  pathname?: string;
  flags?: number | string;
  eventName?: string;
  ctime?: string;
}

/** One compact Tracee JSON line, field for field as `tracee --output json` writes it. */
export function traceeLine(fields: LineFields = {}): string {
  const pid = fields.processId ?? 4242;
  const pathname = fields.pathname ?? '/proc/1234/mem';
  const flags = fields.flags ?? 'O_RDONLY|O_LARGEFILE';
  const flagsArg =
    typeof flags === 'number'
      ? `{"name":"flags","type":"int","value":${flags}}`
      : `{"name":"flags","type":"string","value":${JSON.stringify(flags)}}`;
  return (
    `{"timestamp":${fields.timestamp ?? '1732675200123456789'},"threadStartTime":1732675190000000123,` +
    `"processorId":3,"processId":${pid},"cgroupId":10376,"threadId":${pid},"parentProcessId":977,` +
    `"hostProcessId":${pid},"hostThreadId":${pid},"hostParentProcessId":977,"userId":0,` +
    `"mountNamespace":4026531841,"pidNamespace":4026531836,` +
    `"processName":${JSON.stringify(fields.processName ?? 'dd')},"executable":{"path":"/usr/bin/dd"},` +
    `"hostName":"build-7","containerId":"","container":{},"kubernetes":{},"eventId":"732",` +
    `"eventName":${JSON.stringify(fields.eventName ?? 'security_file_open')},"matchedPolicies":[""],` +
    `"argsNum":6,"returnValue":0,"syscall":"openat","stackAddresses":null,` +
    `"contextFlags":{"containerStarted":false,"isCompat":false},"threadEntityId":2316339463,` +
    `"processEntityId":2316339463,"parentEntityId":1740364381,"args":[` +
    `{"name":"pathname","type":"const char*","value":${JSON.stringify(pathname)}},${flagsArg},` +
    `{"name":"dev","type":"dev_t","value":23},{"name":"inode","type":"unsigned long","value":18446744073709551557},` +
    `{"name":"ctime","type":"unsigned long","value":${fields.ctime ?? '1732675190987654321'}},` +
    `{"name":"syscall_pathname","type":"const char*","value":${JSON.stringify(pathname)}}]}`
  );
}
