import { describe, expect, test } from "bun:test";
import { base64Core, secretForms } from "./encodings.ts";
import { Masker } from "./masker.ts";

const enc = new TextEncoder();
const dec = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

/** Collects a stream's output; `text()` decodes it all at once (chunks may split UTF-8). */
function collector(masker: Masker) {
  const chunks: Uint8Array[] = [];
  const stream = masker.stream((c) => chunks.push(c.slice()));
  return { stream, chunks, bytes: () => Buffer.concat(chunks), text: () => dec(Buffer.concat(chunks)) };
}

/** Writes `text` in pieces cut at `cuts` (byte offsets) and returns what came out. */
function streamed(masker: Masker, bytes: Uint8Array, cuts: number[]): Uint8Array {
  const out = collector(masker);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.stream.write(bytes.subarray(at, cut));
    at = cut;
  }
  out.stream.end();
  return out.bytes();
}

/**
 * Reference masking, written the obvious slow way: every occurrence of every form of every
 * secret is found with indexOf, overlapping occurrences are merged, each merged run is one mask.
 */
function reference(values: string[], text: Uint8Array, mask = "***"): Uint8Array {
  const buf = Buffer.from(text);
  const spans: [number, number][] = [];
  for (const value of values) {
    for (const form of secretForms(value).values()) {
      for (let i = buf.indexOf(form); i >= 0; i = buf.indexOf(form, i + 1)) spans.push([i, i + form.length]);
    }
  }
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: [number, number][] = [];
  for (const [s, e] of spans) {
    const last = merged[merged.length - 1];
    if (last && s < last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const parts: Buffer[] = [];
  let at = 0;
  for (const [s, e] of merged) {
    parts.push(buf.subarray(at, s), Buffer.from(mask));
    at = e;
  }
  parts.push(buf.subarray(at));
  return Buffer.concat(parts);
}

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

describe("Masker.mask (whole strings)", () => {
  test("masks every occurrence and leaves the rest intact", () => {
    const m = new Masker();
    m.register(["hunter2-secret"]);
    expect(m.mask("pw=hunter2-secret; again hunter2-secret.")).toBe("pw=***; again ***.");
    expect(m.mask("nothing here")).toBe("nothing here");
  });

  test("longest match first: a secret containing another prints as one mask", () => {
    const m = new Masker();
    m.register(["abc", "abcdef"]);
    expect(m.mask("[abcdef] [abc] [abcabc]")).toBe("[***] [***] [******]");
  });

  test("overlapping secrets leave no byte of either visible", () => {
    const m = new Masker();
    m.register(["abcd", "cdef", "bc-longer-xyz", "zz-bc"]);
    expect(m.mask("_abcdef_")).toBe("_***_");
    expect(m.mask("_zz-bc-longer-xyz_")).toBe("_***_");
  });

  test("regex metacharacters are literal", () => {
    const m = new Masker();
    const value = "a.b*c+d?(e)[f]{g}|h^i$j\\k";
    m.register([value]);
    expect(m.mask(`x ${value} y`)).toBe("x *** y");
    expect(m.mask("x aXb*c+d?(e)[f]{g}|h^i$j\\k y")).toBe("x aXb*c+d?(e)[f]{g}|h^i$j\\k y");
  });

  test("a mask never creates a new match: secrets equal to or inside the mask text", () => {
    const star = new Masker();
    star.register(["***", "supersecret"]);
    expect(star.mask("supersecret and ***")).toBe("*** and ***");
    const red = new Masker({ mask: "[REDACTED]" });
    red.register(["RED", "DAC"]);
    expect(red.mask("RED alert, DACs")).toBe("[REDACTED] alert, [REDACTED]s");
  });

  test("values under 3 characters are ignored; register counts new values", () => {
    const m = new Masker();
    expect(m.register(["", "a", "ab", "abc", "abc", "xyz9"])).toBe(2);
    expect(m.register(["abc", "new-one"])).toBe(1);
    expect(m.size).toBe(3);
    expect(m.mask("a ab abc")).toBe("a ab ***");
  });

  test("the mask text is configurable", () => {
    const m = new Masker({ mask: "<hidden>" });
    m.register(["topsecret"]);
    expect(m.mask("k=topsecret")).toBe("k=<hidden>");
  });

  test("base64 at every alignment inside a longer base64 string", () => {
    const secret = "s3cr3t-Value!";
    const m = new Masker();
    m.register([secret]);
    for (const before of ["", "x", "xy", "xyz", "long prefix text "]) {
      for (const after of ["", "!", "??", "and more"]) {
        const b64 = Buffer.from(before + secret + after).toString("base64");
        const masked = m.mask(`data: ${b64}`);
        expect(masked).toContain("***");
        // What stays visible is at most the characters shared with the neighbours.
        const visible = masked.replace("data: ", "").split("***").join("");
        expect(visible.length).toBeLessThanOrEqual(b64.length - Math.floor((secret.length * 8) / 6) + 3);
      }
    }
    expect(m.mask(Buffer.from(secret).toString("base64"))).toBe("***");
    expect(m.mask(Buffer.from(secret).toString("base64url"))).toBe("***");
  });

  test("URL-encoded and JSON-escaped forms", () => {
    const secret = 'p@ss w/rd&"quoted"\\é';
    const m = new Masker();
    m.register([secret]);
    expect(m.mask(`?q=${encodeURIComponent(secret)}&x=1`)).toBe("?q=***&x=1");
    expect(m.mask(`?q=${encodeURIComponent(secret).replace(/%20/g, "+")}`)).toBe("?q=***");
    expect(m.mask(JSON.stringify({ token: secret }))).toBe('{"token":"***"}');
  });

  test("multi-line values: the whole value and each line", () => {
    const pem = "-----BEGIN KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8\nAgEAAkEAq7BFUpkGp3+XQ\n-----END KEY-----";
    const m = new Masker();
    m.register([pem]);
    expect(m.mask(`key:\n${pem}\ndone`)).toBe("key:\n***\ndone");
    expect(m.mask("line: AgEAAkEAq7BFUpkGp3+XQ")).toBe("line: ***");
    expect(m.mask(pem.replace(/\n/g, "\r\n"))).not.toContain("MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8");
  });

  test("differential: random secrets and texts agree with the slow reference", () => {
    const rand = rng(7);
    const alphabet = "ab-c.*";
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
    for (let round = 0; round < 300; round++) {
      const values = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => word(3 + Math.floor(rand() * 5)));
      const text = enc.encode(word(5 + Math.floor(rand() * 60)));
      const m = new Masker();
      m.register(values);
      const expected = dec(reference(values, text));
      expect({ values, text: dec(text), out: m.mask(dec(text)) }).toEqual({ values, text: dec(text), out: expected });
    }
  });
});

test("many secrets: the automaton's rows are added as the scan reaches them, in the middle of a write, and every form is still masked", () => {
  // 60 secrets of 40 characters have ~300,000 trie states; a scan enters far more than the first
  // rows made (256) here, so the row arrays are replaced while one write is being scanned, and
  // trie states are made as the scan (and the failure links it needs) reaches them.
  const rand = rng(5);
  const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const word = (n: number) => Array.from({ length: n }, () => alnum[Math.floor(rand() * alnum.length)]).join("");
  const values = Array.from({ length: 60 }, () => word(40));
  const parts: string[] = [];
  for (const v of values) {
    // The value, its base64 and a prefix that stops short (it must stay visible).
    parts.push(`k=${v}`, Buffer.from(v).toString("base64"), v.slice(0, 30), word(20));
  }
  const text = enc.encode(`${parts.join(" ")}\n`);
  const m = new Masker();
  m.register(values);
  const expected = dec(reference(values, text));
  // The trie is spelled out lazily as well: its ~300,000 states are far from all made up front.
  const made = m.automaton().states;
  expect(made).toBeLessThan(100_000);
  const rows = m.automaton().step;
  expect(dec(streamed(m, text, []))).toBe(expected);
  expect(m.automaton().step).not.toBe(rows); // replaced by longer arrays during the write
  expect(m.automaton().states).toBeGreaterThan(made);
  const fresh = new Masker();
  fresh.register(values);
  expect(dec(streamed(fresh, text, Array.from({ length: Math.floor(text.length / 7) }, (_, i) => i * 7)))).toBe(expected);
  for (const v of values) expect(expected).not.toContain(v);
});

describe("Masker.stream (chunk boundaries)", () => {
  const secrets = ["supersecret", "pässwörd-ü", "tok.en*(1)", "abc", "abcdef"];
  const line =
    `start supersecret mid pässwörd-ü x tok.en*(1) ${Buffer.from("..supersecret").toString("base64")} ` +
    `${encodeURIComponent("pässwörd-ü")} abcdefabc ${JSON.stringify("tok.en*(1)")} end`;
  const masker = new Masker();
  masker.register(secrets);
  const whole = enc.encode(line);
  const expected = masker.mask(line);

  test("the corpus line masks as the reference says", () => {
    expect(expected).toBe(dec(reference(secrets, whole)));
    for (const s of secrets) expect(expected).not.toContain(s);
  });

  test("split in two at every byte offset (including inside multi-byte UTF-8)", () => {
    for (let cut = 0; cut <= whole.length; cut++) {
      expect(dec(streamed(masker, whole, [cut]))).toBe(expected);
    }
  });

  test("split in three at many offset pairs", () => {
    for (let a = 0; a < whole.length; a += 3) {
      for (let b = a; b <= whole.length; b += 7) expect(dec(streamed(masker, whole, [a, b]))).toBe(expected);
    }
  });

  test("one byte per write", () => {
    expect(dec(streamed(masker, whole, Array.from({ length: whole.length }, (_, i) => i)))).toBe(expected);
  });

  test("differential with random splits and binary noise", () => {
    const rand = rng(99);
    for (let round = 0; round < 200; round++) {
      const values = [Array.from({ length: 3 + Math.floor(rand() * 8) }, () => String.fromCharCode(0x21 + Math.floor(rand() * 4))).join(""), "\u00e9t\u00e9"];
      const noise = new Uint8Array(40 + Math.floor(rand() * 200));
      for (let i = 0; i < noise.length; i++) {
        // Mostly bytes the secrets use, some arbitrary binary (never a newline: that flushes).
        const b = rand() < 0.7 ? 0x21 + Math.floor(rand() * 4) : Math.floor(rand() * 256);
        noise[i] = b === 0x0a ? 0x0b : b;
      }
      const cuts = Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * noise.length)).sort((x, y) => x - y);
      const m = new Masker();
      m.register(values);
      expect(Buffer.from(streamed(m, noise, cuts)).equals(Buffer.from(reference(values, noise)))).toBe(true);
    }
  });

  test("interleaved stdout and stderr keep separate state", () => {
    const m = new Masker();
    m.register(["outsecret", "errsecret"]);
    const out = collector(m);
    const err = collector(m);
    out.stream.write("o: out");
    err.stream.write("e: err");
    out.stream.write("sec");
    err.stream.write("sec");
    out.stream.write("ret\n");
    err.stream.write("ret\n");
    out.stream.end();
    err.stream.end();
    expect(out.text()).toBe("o: ***\n");
    expect(err.text()).toBe("e: ***\n");
  });

  test("output stays live: only a possible secret prefix is held back", () => {
    const m = new Masker({ idleFlushMs: 60_000 });
    m.register(["supersecret"]);
    const out = collector(m);
    out.stream.write("progress 10%");
    expect(out.text()).toBe("progress 10%");
    out.stream.write(" sup");
    expect(out.text()).toBe("progress 10% "); // "sup" could start the secret
    out.stream.write("er");
    expect(out.text()).toBe("progress 10% ");
    out.stream.write("man");
    expect(out.text()).toBe("progress 10% superman");
    const longest = "supersecret".length;
    out.stream.write("x".repeat(100) + "supersecre");
    expect(out.bytes().length).toBeGreaterThanOrEqual("progress 10% superman".length + 100 + 10 - (longest - 1));
  });

  test("a newline flushes the line at once", () => {
    const m = new Masker({ idleFlushMs: 60_000 });
    m.register(["supersecret"]);
    const out = collector(m);
    out.stream.write("ends with sup\n");
    expect(out.text()).toBe("ends with sup\n");
  });

  test("idle flush prints a held prefix after a pause; a full secret written in pieces before it is masked", async () => {
    const m = new Masker({ idleFlushMs: 80 });
    m.register(["supersecret"]);
    const out = collector(m);
    out.stream.write("a sup");
    await Bun.sleep(20);
    out.stream.write("ersecret b");
    expect(out.text()).toBe("a *** b");
    out.stream.write(" sup");
    await Bun.sleep(250);
    expect(out.text()).toBe("a *** b sup");
    out.stream.end();
  });

  test("the last line without a newline is masked at end", () => {
    const m = new Masker();
    m.register(["tail-secret"]);
    const out = collector(m);
    out.stream.write("x tail-sec");
    out.stream.write("ret");
    out.stream.end();
    expect(out.text()).toBe("x ***");
    out.stream.write("after end");
    expect(out.text()).toBe("x ***");
  });

  test("a value registered later applies to every existing stream, held bytes included", () => {
    const m = new Masker({ idleFlushMs: 60_000 });
    m.register(["early-secret"]);
    const a = collector(m);
    const b = collector(m);
    a.stream.write("before: ");
    b.stream.write("b: ear");
    m.register(["late-token-value", "ly-s"]);
    a.stream.write("late-token-value done\n");
    b.stream.write("ly-secret and late-token-value\n");
    expect(a.text()).toBe("before: *** done\n");
    expect(b.text()).toBe("b: *** and ***\n");
  });

  test("strings and bytes can be mixed and the sink gets bytes", () => {
    const m = new Masker();
    m.register(["mixed-secret"]);
    const out = collector(m);
    out.stream.write("s: mixed-");
    out.stream.write(enc.encode("secret\n"));
    expect(out.chunks.every((c) => c instanceof Uint8Array)).toBe(true);
    expect(out.text()).toBe("s: ***\n");
  });
});

describe("line-wrapped base64 (coreutils base64: 76 columns, openssl base64: 64)", () => {
  const secret = "wr4pped-Secret-Value-9f3K";
  const tool = (argv: string[], input: Uint8Array) => Bun.spawnSync(argv, { stdin: input }).stdout as Uint8Array;
  const cores = ([0, 1, 2] as const).map((a) => base64CoreOf(secret, a));

  test("a file holding the secret at any offset, encoded by the real tools, is masked in every chunking", () => {
    const masker = new Masker();
    masker.register([secret]);
    for (let offset = 0; offset < 80; offset += 7) {
      const file = enc.encode(`${"p".repeat(offset)}DEPLOY_TOKEN=${secret}\nuser:${secret}\n`);
      for (const argv of [["base64"], ["openssl", "base64"]]) {
        const encoded = tool(argv, file);
        expect(dec(encoded)).toContain("\n"); // really wrapped
        for (const cuts of [[], Array.from({ length: Math.floor(encoded.length / 5) }, (_, i) => (i + 1) * 5)]) {
          const out = dec(streamed(masker, encoded, cuts)).replaceAll("\n", "");
          for (const core of cores) expect(out, `${argv.join(" ")} offset ${offset}`).not.toContain(core);
        }
      }
    }
  });
});

function base64CoreOf(value: string, alignment: 0 | 1 | 2): string {
  return base64Core(enc.encode(value), alignment);
}

describe("line-wrapped base64, as an attacker would print it", () => {
  const secret = "wr4pped-Secret-Value-9f3K";
  const encodeWith = (argv: readonly string[], input: Uint8Array) => Bun.spawnSync([...argv], { stdin: input }).stdout as Uint8Array;
  const cores = ([0, 1, 2] as const).map((a) => base64Core(enc.encode(secret), a));
  /** Every 8-character piece of each alignment's encoding: half of one on a line, unmasked, is a leak too. */
  const pieces = cores.flatMap((core) => Array.from({ length: core.length - 7 }, (_, i) => core.slice(i, i + 8)));

  test("the secret at every byte offset of a wrapped line (so every offset mod 3, every cut by the wrap): no 8 characters of its encoding survive", () => {
    const masker = new Masker();
    masker.register([secret]);
    for (const [argv, lineBytes] of [[["base64"], 57], [["openssl", "base64"], 48]] as const) {
      for (let offset = 0; offset < lineBytes; offset++) {
        const encoded = encodeWith(argv, enc.encode(`${"p".repeat(offset)}${secret}\n`));
        for (const cuts of [[], [encoded.indexOf(10) + 1], Array.from({ length: Math.floor(encoded.length / 3) }, (_, i) => (i + 1) * 3)]) {
          const out = dec(streamed(masker, encoded, cuts));
          const joined = out.replaceAll("\n", "");
          const leaked = pieces.filter((piece) => joined.includes(piece));
          expect(leaked, `${argv.join(" ")}, offset ${offset}, cut at ${cuts.slice(0, 2)}: ${out}`).toEqual([]);
        }
      }
    }
  });
});

describe("the start filter (every form at least 8 bytes: the scan skips text where none can start)", () => {
  /** Text made of the secrets' pieces (whole, cut short, base64, overlapping) and noise over their letters. */
  function corpus(rand: () => number, values: string[], parts: number): Uint8Array {
    const alphabet = "abcxyz0=\n ";
    const out: string[] = [];
    for (let i = 0; i < parts; i++) {
      const v = values[Math.floor(rand() * values.length)]!;
      const r = rand();
      if (r < 0.25) out.push(v);
      else if (r < 0.45) out.push(v.slice(0, 1 + Math.floor(rand() * (v.length - 1))));
      else if (r < 0.55) out.push(Buffer.from(`${"q".repeat(Math.floor(rand() * 3))}${v}`).toString("base64"));
      else if (r < 0.65) out.push(v.slice(Math.floor(rand() * v.length)) + v);
      else out.push(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(""));
    }
    return enc.encode(out.join(""));
  }
  const word = (rand: () => number, n: number) => Array.from({ length: n }, () => "abcxyz0"[Math.floor(rand() * 7)]).join("");

  test("differential: random secrets, texts and splits agree with the slow reference", () => {
    const rand = rng(2026);
    for (let round = 0; round < 150; round++) {
      // Secrets that share starts and contain one another, so the automaton is entered often.
      const base = word(rand, 8 + Math.floor(rand() * 10));
      const values = [base, base.slice(0, 8) + word(rand, 6), word(rand, 8 + Math.floor(rand() * 30)), `${base}${word(rand, 3)}`];
      const m = new Masker();
      m.register(values);
      expect(m.automaton().filter).not.toBeNull();
      const text = corpus(rand, values, 30);
      const expected = Buffer.from(reference(values, text));
      const cuts = Array.from({ length: Math.floor(rand() * 8) }, () => Math.floor(rand() * text.length)).sort((x, y) => x - y);
      expect(Buffer.from(streamed(m, text, cuts)).equals(expected), `${JSON.stringify(values)} cuts ${cuts}`).toBe(true);
    }
  });

  test("a match and a near miss split at every offset, in two and in one-byte writes", () => {
    const values = ["zx0abcab0c", "abcabcxyzabc"];
    const m = new Masker();
    m.register(values);
    expect(m.automaton().filter).not.toBeNull();
    const text = enc.encode(`${"xyz ".repeat(20)}zx0abcab0 zx0abcab0c${"a".repeat(33)}abcabcxyzab abcabcxyzabc ${Buffer.from(values[1]!).toString("base64")} tail`);
    const expected = Buffer.from(reference(values, text));
    expect(dec(expected)).toContain("zx0abcab0 ***");
    for (let cut = 0; cut <= text.length; cut++) expect(Buffer.from(streamed(m, text, [cut])).equals(expected), `cut ${cut}`).toBe(true);
    expect(Buffer.from(streamed(m, text, Array.from({ length: text.length }, (_, i) => i))).equals(expected)).toBe(true);
  });

  test("two matches inside a longer secret's prefix, the scan coming back to the filter after both: each is its own mask", () => {
    // The filter is tried again only once the automaton's state starts after the last stop, here
    // inside "11111111x22222222y...": it stops at once (a pattern starts there), and the
    // automaton must go on from where it is, not report the two matches behind it again.
    const values = ["11111111", "22222222", "11111111x22222222yyyyyyyyyyy", "W11111111x22222222Q"];
    const m = new Masker();
    m.register(values);
    expect(m.automaton().filter?.window).toBe(8);
    const text = enc.encode(`W11111111x22222222yyyyyy-${"n".repeat(40)}\n`);
    expect(dec(reference(values, text))).toBe(`W***x***yyyyyy-${"n".repeat(40)}\n`);
    for (let cut = 0; cut <= text.length; cut++) expect(dec(streamed(m, text, [cut])), `cut ${cut}`).toBe(`W***x***yyyyyy-${"n".repeat(40)}\n`);
  });

  test("secrets registered in the middle of a stream: held bytes scanned again, later text skipped with the new tables", () => {
    const m = new Masker({ idleFlushMs: 60_000 });
    m.register(["first-secret-value"]);
    const out = collector(m);
    // "first-sec" is held back (it may be the first secret); the new one continues it differently.
    out.stream.write(`${"noise ".repeat(50)}first-secret-value and first-sec`);
    m.register(["first-sec-ond-value", "third-value-123"]);
    out.stream.write(`-ond-value ${"more noise ".repeat(40)}third-value-123 first-secret-value\n`);
    out.stream.end();
    expect(out.text()).toBe(`${"noise ".repeat(50)}*** and *** ${"more noise ".repeat(40)}*** ***\n`);
  });
});
