//! UTF-16 strings for NDIS_STRING arguments, without heap allocation.

use crate::ndis::UnicodeString;

/// Encodes an ASCII string literal as UTF-16 at compile time (no terminating NUL).
pub const fn ascii_to_utf16<const N: usize>(s: &str) -> [u16; N] {
    let bytes = s.as_bytes();
    assert!(bytes.len() == N, "length mismatch");
    let mut out = [0u16; N];
    let mut i = 0;
    while i < N {
        assert!(bytes[i].is_ascii(), "ASCII only");
        out[i] = bytes[i] as u16;
        i += 1;
    }
    out
}

/// An NDIS_STRING view of static UTF-16 text (NDIS only reads it).
pub fn static_ndis_string(text: &'static [u16]) -> UnicodeString {
    let bytes = u16::try_from(text.len() * 2).unwrap_or(0xFFFE);
    UnicodeString {
        length: bytes,
        maximum_length: bytes,
        buffer: text.as_ptr().cast_mut(),
    }
}

/// A fixed-capacity UTF-16 name (a device name such as `\Device\{GUID}`), stored inline.
pub struct NameBuf<const N: usize> {
    len: usize,
    chars: [u16; N],
}

impl<const N: usize> NameBuf<N> {
    pub const fn new() -> Self {
        Self {
            len: 0,
            chars: [0; N],
        }
    }

    /// Copies the first string of `src` (which may be a REG_MULTI_SZ), stopping at a NUL.
    /// Returns false when empty or too long.
    pub fn set(&mut self, src: &[u16]) -> bool {
        let len = src.iter().position(|&c| c == 0).unwrap_or(src.len());
        if len == 0 || len > N {
            return false;
        }
        self.chars[..len].copy_from_slice(&src[..len]);
        self.len = len;
        true
    }

    pub fn as_slice(&self) -> &[u16] {
        &self.chars[..self.len]
    }

    /// Case-insensitive (ASCII) comparison, as device names are compared by NDIS.
    pub fn eq_ignore_ascii_case(&self, other: &[u16]) -> bool {
        let other_len = other.iter().position(|&c| c == 0).unwrap_or(other.len());
        let other = &other[..other_len];
        self.len == other.len()
            && self
                .as_slice()
                .iter()
                .zip(other)
                .all(|(&a, &b)| fold(a) == fold(b))
    }

    /// An NDIS_STRING view; valid while `self` is neither moved nor modified.
    pub fn as_ndis_string(&self) -> UnicodeString {
        let bytes = u16::try_from(self.len * 2).unwrap_or(0);
        UnicodeString {
            length: bytes,
            maximum_length: bytes,
            buffer: self.chars.as_ptr().cast_mut(),
        }
    }
}

impl<const N: usize> Default for NameBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

const fn fold(c: u16) -> u16 {
    if c >= b'a' as u16 && c <= b'z' as u16 {
        c - 32
    } else {
        c
    }
}

/// Reads an NDIS_STRING given by NDIS as a slice.
///
/// # Safety
/// `s.buffer` points at `s.length` bytes valid for `'a`.
pub unsafe fn ndis_string_slice<'a>(s: &UnicodeString) -> &'a [u16] {
    if s.buffer.is_null() || s.length == 0 {
        return &[];
    }
    // SAFETY: the buffer holds `Length` valid bytes for 'a (this function's contract); Length
    // counts bytes, two per UTF-16 unit.
    unsafe { core::slice::from_raw_parts(s.buffer, usize::from(s.length / 2)) }
}

/// A [`NameBuf`] written once, while its owner is still private to one thread, and only read
/// afterwards.
pub struct SetOnceName<const N: usize>(core::cell::UnsafeCell<NameBuf<N>>);

// SAFETY: after the single `set` (made before the owner is shared), access is read-only.
unsafe impl<const N: usize> Sync for SetOnceName<N> {}

impl<const N: usize> SetOnceName<N> {
    pub const fn new() -> Self {
        Self(core::cell::UnsafeCell::new(NameBuf::new()))
    }

    /// # Safety
    /// No other thread reads or writes the name during this call: the owner has not been shared
    /// with anyone that reads the name yet.
    pub unsafe fn set(&self, src: &[u16]) -> bool {
        // SAFETY: exclusive by the caller's contract.
        unsafe { (*self.0.get()).set(src) }
    }

    pub fn get(&self) -> &NameBuf<N> {
        // SAFETY: writes happen only before sharing (see `set`).
        unsafe { &*self.0.get() }
    }
}

impl<const N: usize> Default for SetOnceName<N> {
    fn default() -> Self {
        Self::new()
    }
}
