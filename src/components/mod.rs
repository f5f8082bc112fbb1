//! The page's panels: small components driven by plain props and `on_*` callbacks.
//!
//! None of them reads the store or calls the emulator; [`crate::app`] wires them.
//! Elements that tests look for carry a `data-testid`.

mod attach_result;
mod example_picker;
mod globals;
mod map_editor;
mod output;
mod program_editor;
mod socket_editor;
mod timeline;
mod toolbar;
mod trace_panel;
mod verifier_log;

pub use attach_result::{AttachResult, AttachResultProps};
pub use example_picker::{ExamplePicker, ExamplePickerProps};
pub use globals::{Globals, GlobalsProps};
pub use map_editor::{MapEditor, MapEditorProps};
pub use output::{Output, OutputProps};
pub use program_editor::{
    highlight, LineMark, MarkKind, ProgramEditor, ProgramEditorProps, TokenKind,
};
pub use socket_editor::{SocketEditor, SocketEditorProps};
pub use timeline::{Timeline, TimelineProps};
pub use toolbar::{Toolbar, ToolbarProps};
pub use trace_panel::{key_move, TracePanel, TracePanelProps};
pub use verifier_log::{
    describe_load_error, error_headline, mark_log, LogMark, VerifierLog, VerifierLogProps,
};

/// Lower-case hex of `bytes`, as the scenario files write keys and values.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_matches_the_scenario_format() {
        assert_eq!(super::hex(&[1, 0, 0xab, 0xff]), "0100abff");
        assert_eq!(super::hex(&[]), "");
    }
}
