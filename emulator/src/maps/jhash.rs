//! Bob Jenkins' lookup3 hash as the Linux kernel uses it (`include/linux/jhash.h`).
//!
//! [`jhash`] hashes bytes, [`jhash2`] hashes 32-bit words; [`htab_hash`] picks between them the
//! way the kernel's hash maps do (word-wise when the key length is a multiple of 4). The values
//! are bit-exact with the kernel on a little-endian host, so a zero-seed map's bucket order can
//! be reproduced. Written from the published algorithm description (bpf-iter-semantics §4.2),
//! not copied from the kernel. Out of scope: other kernel hashes (`jhash_3words` etc.).

const JHASH_INITVAL: u32 = 0xdead_beef;

#[inline]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

#[inline]
fn final_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// Little-endian u32 from up to 4 bytes (missing high bytes are zero).
#[inline]
fn le_word(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (8 * i)))
}

/// The kernel's `jhash(key, length, initval)`: byte-wise lookup3, words read little-endian.
pub fn jhash(key: &[u8], initval: u32) -> u32 {
    // The kernel takes a u32 length; keys are at most a few KiB, so truncation cannot happen
    // for real maps and wrapping matches the kernel's arithmetic anyway.
    let len = key.len() as u32;
    let init = JHASH_INITVAL.wrapping_add(len).wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = key;
    while rest.len() > 12 {
        a = a.wrapping_add(le_word(&rest[0..4]));
        b = b.wrapping_add(le_word(&rest[4..8]));
        c = c.wrapping_add(le_word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    let word = |from: usize| le_word(rest.get(from..rest.len().min(from + 4)).unwrap_or(&[]));
    a = a.wrapping_add(word(0));
    b = b.wrapping_add(word(4));
    c = c.wrapping_add(word(8));
    final_mix(&mut a, &mut b, &mut c);
    c
}

/// The kernel's `jhash2(words, length, initval)`: lookup3 over 32-bit words.
pub fn jhash2(words: &[u32], initval: u32) -> u32 {
    let len = (words.len() as u32).wrapping_shl(2);
    let init = JHASH_INITVAL.wrapping_add(len).wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = words;
    while rest.len() > 3 {
        a = a.wrapping_add(rest[0]);
        b = b.wrapping_add(rest[1]);
        c = c.wrapping_add(rest[2]);
        mix(&mut a, &mut b, &mut c);
        rest = &rest[3..];
    }
    match *rest {
        [] => return c,
        [x] => a = a.wrapping_add(x),
        [x, y] => {
            a = a.wrapping_add(x);
            b = b.wrapping_add(y);
        }
        [x, y, z, ..] => {
            a = a.wrapping_add(x);
            b = b.wrapping_add(y);
            c = c.wrapping_add(z);
        }
    }
    final_mix(&mut a, &mut b, &mut c);
    c
}

/// The hash a kernel hash map computes for `key` (`htab_map_hash`): `jhash2` over the key as
/// little-endian words when its length is a multiple of 4, byte-wise `jhash` otherwise. On a
/// little-endian host both give the same value, so this uses the byte-wise form, which needs
/// no allocation.
pub fn htab_hash(key: &[u8], seed: u32) -> u32 {
    jhash(key, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_test_vectors_seed_zero() {
        let cases: &[(&[u8], u32)] = &[
            (&[0, 0, 0, 0], 0x0493_96b8),
            (&[1, 0, 0, 0], 0x72a8_2a9b),
            (&[2, 0, 0, 0], 0xee62_6cca),
            (&[3, 0, 0, 0], 0x9917_754f),
            (&[4, 0, 0, 0], 0x15de_40b1),
            (&[5, 0, 0, 0], 0xf5a8_a9b6),
            (&[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0], 0xa461_58f5),
            (&[1, 2, 3, 4, 5], 0xf855_54a4),
            (&[1, 2, 3, 4, 5, 6], 0x491f_d335),
            (&[1, 0, 0, 0, 0, 0, 0, 0], 0x5543_253f),
        ];
        for &(key, want) in cases {
            assert_eq!(jhash(key, 0), want, "jhash {key:02x?}");
            assert_eq!(htab_hash(key, 0), want);
        }
    }

    #[test]
    fn word_and_byte_forms_agree() {
        assert_eq!(jhash2(&[1], 0), 0x72a8_2a9b);
        assert_eq!(jhash2(&[1, 2, 3], 0), 0xa461_58f5);
        assert_eq!(jhash2(&[1, 0], 0), 0x5543_253f);
        for n in 0..9u32 {
            let words: Vec<u32> = (0..n).map(|i| i.wrapping_mul(0x9e37_79b9) ^ 7).collect();
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            for seed in [0, 1, 0xdead_beef] {
                assert_eq!(
                    jhash2(&words, seed),
                    jhash(&bytes, seed),
                    "n={n} seed={seed}"
                );
            }
        }
    }

    #[test]
    fn seed_changes_hash() {
        assert_ne!(jhash(&[1, 0, 0, 0], 1), jhash(&[1, 0, 0, 0], 0));
        assert_eq!(jhash(&[], 0), 0xdead_beef);
    }
}
