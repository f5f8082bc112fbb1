//! The crate's top-level error: one enum wrapping each module's typed error.

use thiserror::Error;

/// Anything that can go wrong loading or running a scenario.
#[derive(Debug, Error)]
pub enum Error {
    /// A malformed or unsupported object file.
    #[error(transparent)]
    Elf(#[from] crate::elf::ElfError),
    /// A program the engine cannot run.
    #[error(transparent)]
    Run(#[from] crate::vm::RunError),
    /// A read that failed for a reason Linux never has.
    #[error(transparent)]
    Read(#[from] crate::iter::ReadError),
    /// A malformed scenario.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// Assembler source that does not assemble.
    #[error(transparent)]
    Asm(#[from] crate::asm::AsmError),
    /// A scenario that bpftool commands cannot reproduce.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// A live run that cannot go on.
    #[error(transparent)]
    Live(#[from] crate::live::LiveError),
    /// A call that cannot be traced.
    #[error(transparent)]
    Trace(#[from] crate::trace::TraceError),
}
