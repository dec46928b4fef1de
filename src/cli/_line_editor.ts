/**
 * A small line editor for `lsvfs shell` on a terminal in raw mode (Deno has
 * no readline): printable input, backspace and delete, left/right,
 * home/end (Ctrl-A/Ctrl-E), up/down through the history, Ctrl-K/Ctrl-U,
 * Ctrl-C to cancel the line and Ctrl-D on an empty line for end of input.
 *
 * It is split for testing: {@linkcode KeyDecoder} turns bytes into keys
 * (escape sequences and UTF-8 split across reads included),
 * {@linkcode LineEditor} turns keys into the line and the terminal output
 * that shows it, and {@linkcode TerminalLineReader} runs both on stdin.
 * The line is redrawn whole after each key (`\r`, prompt, text, clear to
 * the end, cursor back): lines wider than the terminal are not handled.
 *
 * @module
 */

/** The keys other than printable input. */
export type SpecialKey =
  | "enter"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "home"
  | "end"
  | "up"
  | "down"
  | "cancel"
  | "eof"
  | "kill-end"
  | "kill-start"
  | "ignored";

/** A key the editor knows; `text` is printable input (one or more characters). */
export type Key = { kind: "text"; text: string } | { kind: SpecialKey };

const CONTROL: Record<number, SpecialKey> = {
  0x01: "home", // Ctrl-A
  0x02: "left", // Ctrl-B
  0x03: "cancel", // Ctrl-C
  0x04: "eof", // Ctrl-D: delete under the cursor unless the line is empty
  0x05: "end", // Ctrl-E
  0x06: "right", // Ctrl-F
  0x08: "backspace", // Ctrl-H
  0x0a: "enter",
  0x0b: "kill-end", // Ctrl-K
  0x0d: "enter",
  0x0e: "down", // Ctrl-N
  0x10: "up", // Ctrl-P
  0x15: "kill-start", // Ctrl-U
  0x7f: "backspace",
};

const CSI_FINAL: Record<string, SpecialKey> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

const CSI_TILDE: Record<string, SpecialKey> = {
  "1": "home",
  "7": "home",
  "4": "end",
  "8": "end",
  "3": "delete",
};

/** Turns terminal input bytes into keys, keeping incomplete sequences for the next call. */
export class KeyDecoder {
  #decoder = new TextDecoder();
  #pending = "";

  /**
   * Decodes a chunk of input.
   *
   * @param bytes What the terminal sent.
   * @returns The keys it completes, in order.
   */
  decode(bytes: Uint8Array): Key[] {
    const input = this.#pending + this.#decoder.decode(bytes, { stream: true });
    this.#pending = "";
    const keys: Key[] = [];
    let text = "";
    const flush = () => {
      if (text !== "") keys.push({ kind: "text", text });
      text = "";
    };
    let i = 0;
    while (i < input.length) {
      const c = input[i];
      const code = c.charCodeAt(0);
      if (code === 0x1b) {
        flush();
        const end = escapeEnd(input, i);
        if (end === undefined) {
          this.#pending = input.slice(i);
          break;
        }
        keys.push(escapeKey(input.slice(i, end)));
        i = end;
        continue;
      }
      if (code < 0x20 || code === 0x7f) {
        flush();
        if (code === 0x09) text += " ";
        else keys.push({ kind: CONTROL[code] ?? "ignored" });
        // "\r\n" (a paste) is one enter.
        if (code === 0x0d && input[i + 1] === "\n") i++;
        i++;
        continue;
      }
      text += c;
      i++;
    }
    flush();
    return keys;
  }
}

/** Where the escape sequence at `start` ends, or undefined if more input is needed. */
function escapeEnd(input: string, start: number): number | undefined {
  const next = input[start + 1];
  if (next === undefined) return undefined;
  if (next === "[") {
    for (let j = start + 2; j < input.length; j++) {
      const code = input.charCodeAt(j);
      if (code >= 0x40 && code <= 0x7e) return j + 1;
    }
    return undefined;
  }
  if (next === "O") return start + 2 < input.length ? start + 3 : undefined;
  return start + 2; // Alt-<key>, or a lone Escape followed by a key
}

function escapeKey(seq: string): Key {
  if (seq[1] === "O") return { kind: CSI_FINAL[seq[2]] ?? "ignored" };
  if (seq[1] !== "[") return { kind: "ignored" };
  const final = seq.at(-1)!;
  const params = seq.slice(2, -1);
  if (final === "~") return { kind: CSI_TILDE[params] ?? "ignored" };
  return { kind: CSI_FINAL[final] ?? "ignored" };
}

/** What a key did to the line. */
export interface EditResult {
  /** Terminal output that shows the change. */
  output: string;
  /**
   * Set when the line is over: the text entered, `"cancel"` (Ctrl-C) or
   * `"eof"` (Ctrl-D on an empty line).
   */
  done?: { line: string } | "cancel" | "eof";
}

/** The line being edited, its cursor and the history. */
export class LineEditor {
  /** Entries, oldest first; Up goes back through them. */
  readonly history: string[];
  #prompt = "";
  #chars: string[] = [];
  #cursor = 0;
  #index = 0; // in history; history.length is the line being typed
  #draft: string[] = [];

  /**
   * @param history Entries to start from, oldest first (kept, not copied).
   */
  constructor(history: string[] = []) {
    this.history = history;
  }

  /** The text of the line. */
  get text(): string {
    return this.#chars.join("");
  }

  /** The cursor's position, in characters from the start. */
  get cursor(): number {
    return this.#cursor;
  }

  /**
   * Adds an entry to the history, unless blank or the same as the last.
   *
   * @param entry The entry.
   */
  addHistory(entry: string): void {
    if (entry.trim() === "" || this.history.at(-1) === entry) return;
    this.history.push(entry);
  }

  /**
   * Starts a new line.
   *
   * @param prompt The prompt to show.
   * @returns The output: the prompt.
   */
  begin(prompt: string): string {
    this.#prompt = prompt;
    this.#chars = [];
    this.#cursor = 0;
    this.#index = this.history.length;
    this.#draft = [];
    return prompt;
  }

  /**
   * Applies a key.
   *
   * @param key The key.
   * @returns The output, and the end of the line if the key ended it.
   */
  press(key: Key): EditResult {
    switch (key.kind) {
      case "text": {
        const added = [...key.text];
        this.#chars.splice(this.#cursor, 0, ...added);
        this.#cursor += added.length;
        // Typing at the end needs no redraw.
        if (this.#cursor === this.#chars.length) return { output: key.text };
        return { output: this.#render() };
      }
      case "enter":
        return { output: "\r\n", done: { line: this.text } };
      case "cancel":
        return { output: "^C\r\n", done: "cancel" };
      case "eof":
        if (this.#chars.length === 0) return { output: "\r\n", done: "eof" };
        return this.press({ kind: "delete" });
      case "backspace":
        if (this.#cursor === 0) return { output: "" };
        this.#chars.splice(--this.#cursor, 1);
        return { output: this.#render() };
      case "delete":
        if (this.#cursor === this.#chars.length) return { output: "" };
        this.#chars.splice(this.#cursor, 1);
        return { output: this.#render() };
      case "left":
        if (this.#cursor === 0) return { output: "" };
        this.#cursor--;
        return { output: "\x1b[D" };
      case "right":
        if (this.#cursor === this.#chars.length) return { output: "" };
        this.#cursor++;
        return { output: "\x1b[C" };
      case "home":
        this.#cursor = 0;
        return { output: this.#render() };
      case "end":
        this.#cursor = this.#chars.length;
        return { output: this.#render() };
      case "kill-end":
        this.#chars.splice(this.#cursor);
        return { output: this.#render() };
      case "kill-start":
        this.#chars.splice(0, this.#cursor);
        this.#cursor = 0;
        return { output: this.#render() };
      case "up":
        if (this.#index === 0) return { output: "" };
        if (this.#index === this.history.length) this.#draft = this.#chars;
        this.#show([...this.history[--this.#index]]);
        return { output: this.#render() };
      case "down":
        if (this.#index === this.history.length) return { output: "" };
        this.#index++;
        this.#show(
          this.#index === this.history.length
            ? this.#draft
            : [...this.history[this.#index]],
        );
        return { output: this.#render() };
      case "ignored":
        return { output: "" };
    }
  }

  #show(chars: string[]) {
    this.#chars = [...chars];
    this.#cursor = chars.length;
  }

  #render(): string {
    const back = this.#chars.length - this.#cursor;
    return `\r${this.#prompt}${this.text}\x1b[K${
      back > 0 ? `\x1b[${back}D` : ""
    }`;
  }
}

/** Reads lines from a terminal in raw mode, with a {@linkcode LineEditor}. */
export class TerminalLineReader {
  /** The editor, and so the history. */
  readonly editor: LineEditor;
  #decoder = new KeyDecoder();
  #keys: Key[] = [];
  #buffer = new Uint8Array(1024);
  #encoder = new TextEncoder();

  /**
   * @param history The history to start from, oldest first.
   */
  constructor(history: string[] = []) {
    this.editor = new LineEditor(history);
  }

  /**
   * Reads one line. The terminal is in raw mode only meanwhile, so what is
   * printed between lines needs no carriage returns.
   *
   * @param prompt The prompt.
   * @returns The line, `"cancel"` (Ctrl-C) or `"eof"` (Ctrl-D on an empty
   * line, or the end of input).
   */
  async readLine(prompt: string): Promise<{ line: string } | "cancel" | "eof"> {
    this.#write(this.editor.begin(prompt));
    Deno.stdin.setRaw(true);
    try {
      for (;;) {
        const key = this.#keys.shift();
        if (key === undefined) {
          const n = await Deno.stdin.read(this.#buffer);
          if (n === null) {
            this.#write("\r\n");
            return "eof";
          }
          this.#keys.push(...this.#decoder.decode(this.#buffer.subarray(0, n)));
          continue;
        }
        const { output, done } = this.editor.press(key);
        this.#write(output);
        if (done !== undefined) return done;
      }
    } finally {
      Deno.stdin.setRaw(false);
    }
  }

  #write(text: string) {
    if (text === "") return;
    const bytes = this.#encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      written += Deno.stdout.writeSync(bytes.subarray(written));
    }
  }
}
