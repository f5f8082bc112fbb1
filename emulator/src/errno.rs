//! Linux errno values as the kernel returns them, with their `strerror` text.
//!
//! Map operations, helpers, attach and read() report failures as an [`Errno`]; helpers return
//! it to the program negated (`-EOVERFLOW` = -75), the CLI prints it the way the kernel oracle
//! does (`No such file or directory (ENOENT)`). Only the values this emulator can produce are
//! listed; this is not a general errno table.

use std::fmt;

/// A Linux errno (positive, as in `errno.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    /// Operation not permitted.
    EPERM = 1,
    /// No such file or directory.
    ENOENT = 2,
    /// Argument list too long.
    E2BIG = 7,
    /// Bad file descriptor.
    EBADF = 9,
    /// Resource temporarily unavailable.
    EAGAIN = 11,
    /// Cannot allocate memory.
    ENOMEM = 12,
    /// Permission denied.
    EACCES = 13,
    /// Bad address.
    EFAULT = 14,
    /// Device or resource busy.
    EBUSY = 16,
    /// File exists.
    EEXIST = 17,
    /// Invalid argument.
    EINVAL = 22,
    /// No space left on device.
    ENOSPC = 28,
    /// Value too large for defined data type.
    EOVERFLOW = 75,
    /// Operation not supported (kernel-internal ENOTSUPP).
    ENOTSUPP = 524,
}

impl Errno {
    /// The positive errno number.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The value a helper returns for this error (`-errno` as a u64 register value).
    pub const fn as_helper_ret(self) -> u64 {
        (-(self as i64)) as u64
    }

    /// The symbolic name (`ENOENT`).
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::E2BIG => "E2BIG",
            Errno::EBADF => "EBADF",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
            Errno::ENOSPC => "ENOSPC",
            Errno::EOVERFLOW => "EOVERFLOW",
            Errno::ENOTSUPP => "ENOTSUPP",
        }
    }

    /// glibc's `strerror` text (`No such file or directory`).
    pub const fn strerror(self) -> &'static str {
        match self {
            Errno::EPERM => "Operation not permitted",
            Errno::ENOENT => "No such file or directory",
            Errno::E2BIG => "Argument list too long",
            Errno::EBADF => "Bad file descriptor",
            Errno::EAGAIN => "Resource temporarily unavailable",
            Errno::ENOMEM => "Cannot allocate memory",
            Errno::EACCES => "Permission denied",
            Errno::EFAULT => "Bad address",
            Errno::EBUSY => "Device or resource busy",
            Errno::EEXIST => "File exists",
            Errno::EINVAL => "Invalid argument",
            Errno::ENOSPC => "No space left on device",
            Errno::EOVERFLOW => "Value too large for defined data type",
            Errno::ENOTSUPP => "Unknown error 524",
        }
    }

    /// The oracle's spelling: `No such file or directory (ENOENT)`.
    pub fn describe(self) -> String {
        format!("{} ({})", self.strerror(), self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.strerror(), self.name())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_spelling_and_helper_value() {
        assert_eq!(
            Errno::ENOENT.describe(),
            "No such file or directory (ENOENT)"
        );
        assert_eq!(Errno::EOVERFLOW.as_helper_ret() as i64, -75);
        assert_eq!(Errno::EACCES.to_string(), "Permission denied (EACCES)");
    }
}
