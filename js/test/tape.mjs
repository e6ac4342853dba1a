// Reads the tape form js/env.js writes (`tape`) back into a value, for tests that look at what
// the loader hands the wasm. The wasm's reader is `read_tape` in core/src/json.rs; both follow
// fixtures/tape.json, which env.test.mjs checks the writer against.
export function readTape(tape) {
  if (tape === undefined) return undefined;
  let i = 0;
  const until = (end) => {
    const j = tape.indexOf(end, i);
    if (j < 0) throw new Error('tape: no ' + end + ' after ' + i);
    const s = tape.slice(i, j);
    i = j + 1;
    return s;
  };
  const text = () => {
    const n = Number(until(':'));
    const s = tape.slice(i, i + n);
    i += n;
    return s;
  };
  const value = () => {
    const c = tape[i++];
    if (c === 'n') return null;
    if (c === 't') return true;
    if (c === 'f') return false;
    if (c === 'd') return Number(until(','));
    if (c === 's') return text();
    if (c === 'a' || c === 'o') {
      const out = c === 'a' ? [] : {};
      while (tape[i] !== 'e') {
        if (c === 'a') out.push(value());
        else { const k = text(); out[k] = value(); }
      }
      i++;
      return out;
    }
    throw new Error('tape: unexpected ' + c + ' at ' + (i - 1));
  };
  const v = value();
  if (i !== tape.length) throw new Error('tape: trailing text at ' + i);
  return v;
}
