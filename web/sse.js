// A Server-Sent Events parser (the WHATWG event-stream format) for text
// that arrives in arbitrary pieces: push() each piece; every complete event
// goes to onEvent({id, type, data}) (data: the data lines joined by "\n"),
// a `retry:` to onRetry(ms). Comments (`: heartbeat`) are skipped; an event
// without data is not dispatched. No imports: tests run it under Node.
export class SseParser {
  constructor(onEvent, onRetry = () => {}) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = "";
    this.event = {id: null, type: "message", data: []};
  }

  push(text) {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf("\n", start);
      if (nl < 0) break;
      let line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      this.line(line);
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    const e = this.event;
    if (line === "") {
      this.event = {id: null, type: "message", data: []};
      if (e.data.length) this.onEvent({id: e.id, type: e.type, data: e.data.join("\n")});
      return;
    }
    if (line[0] === ":") return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") e.data.push(value);
    else if (field === "event") e.type = value;
    else if (field === "id") e.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}
