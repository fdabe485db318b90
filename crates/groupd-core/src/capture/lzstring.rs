//! A bounded LZString decompressor for `decompressFromBase64` payloads (`compression=lz64`).
//!
//! The `lz-str` crate has no output limit, and LZ78-style dictionaries let a small input expand
//! quadratically (each new dictionary entry is one character longer than the previous one), so a
//! 20 MiB body could ask for terabytes. This port of the reference algorithm stops as soon as the
//! output would pass the caller's limit, and keeps every dictionary entry as a range of the output
//! (an entry is always "previous output + next character", which sits contiguously in the output),
//! so memory stays proportional to the output.

/// Why an LZString payload could not be decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LzError {
    /// The bit stream is not valid LZString.
    Invalid,
    /// The output would exceed the limit (in UTF-16 code units).
    TooLarge,
}

/// LZString's own base64 alphabet: the standard one, with `=` as a 65th symbol (value 64).
fn base_value(c: u8) -> u32 {
    match c {
        b'A'..=b'Z' => u32::from(c - b'A'),
        b'a'..=b'z' => u32::from(c - b'a') + 26,
        b'0'..=b'9' => u32::from(c - b'0') + 52,
        // In form-encoded data a `+` arrives as a space.
        b'+' | b' ' => 62,
        b'/' => 63,
        b'=' => 64,
        // The reference implementation reads unknown characters as 0 (`undefined & x`).
        _ => 0,
    }
}

struct Bits<'a> {
    input: &'a [u8],
    val: u32,
    position: u32,
    index: usize,
}

impl Bits<'_> {
    const RESET: u32 = 32;

    fn next_value(&self, i: usize) -> u32 {
        self.input.get(i).map_or(0, |&c| base_value(c))
    }

    fn read(&mut self, n: u32) -> u32 {
        let mut bits = 0u32;
        for k in 0..n {
            let resb = self.val & self.position;
            self.position >>= 1;
            if self.position == 0 {
                self.position = Self::RESET;
                self.val = self.next_value(self.index);
                self.index += 1;
            }
            if resb > 0 {
                bits |= 1 << k;
            }
        }
        bits
    }
}

/// Decompresses LZString-from-base64 `input` into UTF-16 code units, producing at most `max_units`.
pub(crate) fn decompress_from_base64(input: &[u8], max_units: usize) -> Result<Vec<u16>, LzError> {
    if input.is_empty() {
        return Err(LzError::Invalid);
    }
    let mut bits = Bits {
        input,
        val: 0,
        position: Bits::RESET,
        index: 1,
    };
    bits.val = bits.next_value(0);

    // Dictionary entries 0..=2 are the control codes; from 3 on, (start, len) ranges of `out`.
    // Ranges as u32 halve the dictionary's memory; the output limit keeps them in range.
    let max_units = max_units.min(u32::MAX as usize);
    let mut dict: Vec<(u32, u32)> = vec![(0, 0); 3];
    let mut out: Vec<u16> = Vec::new();
    let mut enlarge_in: u64 = 4;
    let mut num_bits: u32 = 3;

    let first = match bits.read(2) {
        0 => bits.read(8),
        1 => bits.read(16),
        _ => return Err(LzError::Invalid),
    };
    if max_units == 0 {
        return Err(LzError::TooLarge);
    }
    out.push(first as u16);
    dict.push((0, 1));
    // `w` is the previous entry, as a range of `out`.
    let mut w = (0usize, 1usize);

    loop {
        if bits.index > input.len() {
            // The reference returns "" here: the stream ended without its end marker.
            return Err(LzError::Invalid);
        }
        if num_bits > 32 {
            return Err(LzError::Invalid);
        }
        let c = bits.read(num_bits) as usize;
        let literal = match c {
            0 => Some(bits.read(8) as u16),
            1 => Some(bits.read(16) as u16),
            2 => break,
            _ => None,
        };
        let start = out.len();
        let entry_len = if let Some(ch) = literal {
            // dictionary[dictSize++] = the literal; it is emitted right away, at `start`.
            dict.push((start as u32, 1));
            enlarge_in -= 1;
            if enlarge_in == 0 {
                enlarge_in = 1u64 << num_bits;
                num_bits += 1;
            }
            if start + 1 > max_units {
                return Err(LzError::TooLarge);
            }
            out.push(ch);
            1
        } else if let Some(&(s, l)) = dict.get(c) {
            let (s, l) = (s as usize, l as usize);
            if start + l > max_units {
                return Err(LzError::TooLarge);
            }
            out.extend_from_within(s..s + l);
            l
        } else if c == dict.len() {
            // entry = w + w[0]
            if start + w.1 + 1 > max_units {
                return Err(LzError::TooLarge);
            }
            out.extend_from_within(w.0..w.0 + w.1);
            out.push(out[w.0]);
            w.1 + 1
        } else {
            return Err(LzError::Invalid);
        };
        // dictionary[dictSize++] = w + entry[0]: `w` was emitted just before `entry`, so that is
        // the contiguous range starting at w.
        dict.push((w.0 as u32, (w.1 + 1) as u32));
        enlarge_in -= 1;
        w = (start, entry_len);
        if enlarge_in == 0 {
            enlarge_in = 1u64 << num_bits;
            num_bits += 1;
        }
    }
    Ok(out)
}
