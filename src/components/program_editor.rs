//! The program editor: BPF assembly (or an object's disassembly) in a plain `<textarea>` with
//! syntax highlighting, line numbers and per-line marks, without any JavaScript library.
//!
//! The textarea holds the text and the caret; under it a `<pre aria-hidden="true">` layer with
//! the same font metrics shows the highlighted text, and a gutter shows line numbers and marks
//! (errors, warnings, the current line). Both follow the textarea's scroll position and render
//! only the lines in view (plus some overscan), so a 5,000-line disassembly stays responsive.
//! [`highlight`] is the pure, linear tokenizer for the syntax `emulator/src/asm/parse.rs`
//! accepts. Tab inserts four spaces (Escape then Tab leaves the editor), Ctrl+Enter or
//! Cmd+Enter asks for a run.
//!
//! Not here: assembling, parsing errors (callers pass them as [`LineMark`]s), undo beyond the
//! browser's own, auto-indent, and soft wrapping (lines scroll horizontally, so every line is
//! exactly one row high).

use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;

use web_sys::{HtmlTextAreaElement, KeyboardEvent};
use yew::prelude::*;

/// Height of one line in pixels; `static/editors.css` sets the same `line-height`.
pub const LINE_PX: i32 = 20;
/// Lines rendered above and below the visible ones.
const OVERSCAN: usize = 30;
/// What Tab inserts.
const INDENT: &str = "    ";

/// A note attached to a line of the program.
#[derive(Debug, Clone, PartialEq)]
pub struct LineMark {
    /// 1-based line number.
    pub line: usize,
    /// Error, warning or the current line.
    pub kind: MarkKind,
    /// Shown on hover and listed under the editor.
    pub message: String,
}

/// The kind of a [`LineMark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    /// An assembler or verifier error.
    Error,
    /// A warning.
    Warning,
    /// The instruction being run or stepped.
    Current,
}

impl MarkKind {
    fn class(self) -> &'static str {
        match self {
            MarkKind::Error => "pe-mark-error",
            MarkKind::Warning => "pe-mark-warning",
            MarkKind::Current => "pe-mark-current",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            MarkKind::Error => "\u{2716}",
            MarkKind::Warning => "\u{26a0}",
            MarkKind::Current => "\u{25b6}",
        }
    }

    fn word(self) -> &'static str {
        match self {
            MarkKind::Error => "error",
            MarkKind::Warning => "warning",
            MarkKind::Current => "current",
        }
    }

    /// The most important kind wins the gutter.
    fn rank(self) -> u8 {
        match self {
            MarkKind::Error => 2,
            MarkKind::Warning => 1,
            MarkKind::Current => 0,
        }
    }
}

/// A highlighted token class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `r0`..`r10`, `w0`..`w10`.
    Register,
    /// Decimal or `0x` numbers, instruction-number prefixes.
    Number,
    /// `goto`, `call`, `exit`, `if`, `ll`, `lock`, byte swaps, atomics.
    Keyword,
    /// Memory access sizes `u8`..`u64`, `s8`..`s64`.
    Size,
    /// `;`, `//` or `#` to the end of the line.
    Comment,
    /// `name:` at the start of a statement.
    Label,
    /// `.section`, `.asciz`, ... at the start of a statement.
    Directive,
    /// A quoted string.
    Str,
}

impl TokenKind {
    /// The CSS class of the token's `<span>`.
    pub fn class(self) -> &'static str {
        match self {
            TokenKind::Register => "tok-reg",
            TokenKind::Number => "tok-num",
            TokenKind::Keyword => "tok-kw",
            TokenKind::Size => "tok-size",
            TokenKind::Comment => "tok-comment",
            TokenKind::Label => "tok-label",
            TokenKind::Directive => "tok-directive",
            TokenKind::Str => "tok-str",
        }
    }
}

const KEYWORDS: [&str; 16] = [
    "goto", "gotol", "call", "exit", "if", "ll", "lock", "map", "be16", "be32", "be64", "le16",
    "le32", "le64", "bswap16", "bswap32",
];
const SIZES: [&str; 8] = ["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64"];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$'
}

fn is_register(word: &str) -> bool {
    let Some(num) = word.strip_prefix('r').or_else(|| word.strip_prefix('w')) else {
        return false;
    };
    matches!(num.parse::<u8>(), Ok(0..=10)) && !num.starts_with('+')
}

fn word_kind(word: &str) -> Option<TokenKind> {
    if is_register(word) {
        Some(TokenKind::Register)
    } else if SIZES.contains(&word) {
        Some(TokenKind::Size)
    } else if KEYWORDS.contains(&word) || word == "bswap64" || word.starts_with("atomic") {
        Some(TokenKind::Keyword)
    } else {
        None
    }
}

/// The highlighted tokens of one line, in order and not overlapping; the text between them is
/// plain. Byte ranges always fall on `char` boundaries. Linear in the line's length.
///
/// Follows the assembler's rules: a comment starts with `;`, `//` or `#` at the start of the
/// line or after white space (so `call bpf_seq_printf#126` is not cut); a label is a name
/// followed by `:` at the start of a statement; a directive is a `.name` there.
pub fn highlight(line: &str) -> Vec<(TokenKind, Range<usize>)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Whether the next word starts a statement (after an optional `N: (op)` prefix or label).
    let mut stmt_start = true;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let after_space = i == 0 || b[i - 1].is_ascii_whitespace();
        if after_space && (c == b';' || c == b'#' || (c == b'/' && b.get(i + 1) == Some(&b'/'))) {
            out.push((TokenKind::Comment, i..b.len()));
            break;
        }
        if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(b.len());
            out.push((TokenKind::Str, i..end));
            i = end;
            stmt_start = false;
            continue;
        }
        if c.is_ascii_digit() {
            let j = i + b[i..].iter().take_while(|&&x| is_word_byte(x)).count();
            out.push((TokenKind::Number, i..j));
            // `5:` (an instruction-number prefix) keeps the statement start.
            if b.get(j) == Some(&b':') {
                i = j + 1;
            } else {
                i = j;
                stmt_start = false;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'.' {
            let j = i + b[i..].iter().take_while(|&&x| is_word_byte(x)).count();
            let word = &line[i..j];
            if stmt_start && b.get(j) == Some(&b':') {
                out.push((TokenKind::Label, i..j + 1));
                i = j + 1;
                continue;
            }
            if stmt_start && c == b'.' {
                out.push((TokenKind::Directive, i..j));
            } else if let Some(kind) = word_kind(word) {
                out.push((kind, i..j));
            }
            stmt_start = false;
            i = j;
            continue;
        }
        // `(63)` of a verifier-log prefix keeps the statement start; other punctuation ends it.
        if c == b'(' && stmt_start {
            let j = i + b[i..].iter().take_while(|&&x| x != b')').count();
            let inner = &b[i + 1..j];
            if j < b.len() && !inner.is_empty() && inner.iter().all(u8::is_ascii_hexdigit) {
                out.push((TokenKind::Number, i + 1..j));
                i = j + 1;
                continue;
            }
        }
        stmt_start = false;
        i += 1;
        while i < b.len() && !line.is_char_boundary(i) {
            i += 1;
        }
    }
    out
}

/// One line as spans: tokens with their class, plain text between them.
fn render_line(line: &str) -> Html {
    let mut at = 0;
    let mut parts = Vec::new();
    for (kind, r) in highlight(line) {
        if r.start > at {
            parts.push(html! { { &line[at..r.start] } });
        }
        parts.push(html! { <span class={kind.class()}>{ &line[r.clone()] }</span> });
        at = r.end;
    }
    if at < line.len() {
        parts.push(html! { { &line[at..] } });
    }
    parts.into_iter().collect()
}

/// UTF-16 offset (what the DOM's selection API counts) of the start of 1-based `line`.
fn line_start_utf16(text: &str, line: usize) -> u32 {
    let n: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.encode_utf16().count())
        .sum();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Props of [`ProgramEditor`].
#[derive(Debug, Properties, PartialEq)]
pub struct ProgramEditorProps {
    /// The program text (assembly, or an object's disassembly).
    pub text: AttrValue,
    /// True while showing a loaded `.o`'s disassembly: no edits.
    #[prop_or_default]
    pub readonly: bool,
    /// Called with the whole text on every edit.
    pub on_change: Callback<String>,
    /// Called on Ctrl+Enter / Cmd+Enter.
    pub on_run: Callback<()>,
    /// Errors, warnings and the current line.
    #[prop_or_default]
    pub marks: Rc<[LineMark]>,
    /// A 1-based line to scroll into view and highlight (a verifier-log link).
    #[prop_or_default]
    pub focus_line: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Viewport {
    top: i32,
    left: i32,
    height: i32,
}

/// `<textarea data-testid="program-editor">` over a highlighted layer, with a gutter of line
/// numbers and marks, and the marks listed under it (`data-testid="editor-marks"`).
#[function_component(ProgramEditor)]
pub fn program_editor(props: &ProgramEditorProps) -> Html {
    let textarea = use_node_ref();
    // The text as typed; the textarea's value is never reset from it while typing.
    let text = use_state(|| props.text.to_string());
    let view = use_state(|| Viewport {
        top: 0,
        left: 0,
        height: 600,
    });
    // Escape then Tab moves focus out instead of indenting (no keyboard trap).
    let tab_leaves = use_mut_ref(|| false);

    {
        let textarea = textarea.clone();
        let text = text.clone();
        use_effect_with(props.text.clone(), move |t| {
            if let Some(ta) = textarea.cast::<HtmlTextAreaElement>() {
                if ta.value() != t.as_str() {
                    ta.set_value(t);
                }
            }
            if *text != t.as_str() {
                text.set(t.to_string());
            }
        });
    }
    {
        let textarea = textarea.clone();
        let view = view.clone();
        use_effect_with(props.focus_line, move |line| {
            if let (Some(line), Some(ta)) = (*line, textarea.cast::<HtmlTextAreaElement>()) {
                let value = ta.value();
                let start = line_start_utf16(&value, line);
                let _ = ta.set_selection_range(start, start);
                let height = ta.client_height().max(LINE_PX);
                let row = i32::try_from(line.saturating_sub(1)).unwrap_or(i32::MAX);
                let top = row
                    .saturating_mul(LINE_PX)
                    .saturating_sub(height / 2)
                    .max(0);
                ta.set_scroll_top(top);
                view.set(Viewport {
                    top: ta.scroll_top(),
                    left: ta.scroll_left(),
                    height,
                });
            }
        });
    }

    let oninput = {
        let text = text.clone();
        let on_change = props.on_change.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(ta) = e.target_dyn_into::<HtmlTextAreaElement>() {
                let v = ta.value();
                text.set(v.clone());
                on_change.emit(v);
            }
        })
    };
    let onscroll = {
        let view = view.clone();
        Callback::from(move |e: Event| {
            if let Some(ta) = e.target_dyn_into::<HtmlTextAreaElement>() {
                let next = Viewport {
                    top: ta.scroll_top(),
                    left: ta.scroll_left(),
                    height: ta.client_height(),
                };
                if *view != next {
                    view.set(next);
                }
            }
        })
    };
    let onkeydown = {
        let text = text.clone();
        let on_change = props.on_change.clone();
        let on_run = props.on_run.clone();
        let readonly = props.readonly;
        let tab_leaves = tab_leaves.clone();
        Callback::from(move |e: KeyboardEvent| {
            let key = e.key();
            if key == "Enter" && (e.ctrl_key() || e.meta_key()) {
                e.prevent_default();
                on_run.emit(());
                return;
            }
            if key == "Escape" {
                *tab_leaves.borrow_mut() = true;
                return;
            }
            let leave = std::mem::take(&mut *tab_leaves.borrow_mut());
            if key != "Tab" || readonly || leave || e.shift_key() || e.ctrl_key() || e.alt_key() {
                return;
            }
            let Some(ta) = e.target_dyn_into::<HtmlTextAreaElement>() else {
                return;
            };
            e.prevent_default();
            let start = ta.selection_start().ok().flatten().unwrap_or(0);
            if ta
                .set_range_text_with_start_and_end(INDENT, start, start)
                .is_ok()
            {
                let caret = start.saturating_add(INDENT.len() as u32);
                let _ = ta.set_selection_range(caret, caret);
                let v = ta.value();
                text.set(v.clone());
                on_change.emit(v);
            }
        })
    };

    let lines: Vec<&str> = text.split('\n').collect();
    let total = lines.len();
    let first = (usize::try_from(view.top / LINE_PX).unwrap_or(0)).saturating_sub(OVERSCAN);
    let first = first.min(total);
    let shown = usize::try_from(view.height.max(LINE_PX) / LINE_PX).unwrap_or(0) + 1;
    let last = (first + shown + 2 * OVERSCAN).min(total);
    let mut by_line: BTreeMap<usize, Vec<&LineMark>> = BTreeMap::new();
    for m in props.marks.iter() {
        by_line.entry(m.line).or_default().push(m);
    }
    let offset = i32::try_from(first)
        .unwrap_or(i32::MAX)
        .saturating_mul(LINE_PX)
        .saturating_sub(view.top);
    let has_error = props.marks.iter().any(|m| m.kind == MarkKind::Error);
    let digits = total.to_string().len().max(2);

    let gutter = (first..last).map(|i| {
        let n = i + 1;
        let marks = by_line.get(&n);
        let top = marks.and_then(|ms| ms.iter().map(|m| m.kind).max_by_key(|k| k.rank()));
        let title = marks.map(|ms| {
            ms.iter()
                .map(|m| m.message.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        });
        let class = classes!(
            "pe-gutter-line",
            top.map(MarkKind::class),
            (props.focus_line == Some(n)).then_some("pe-focus")
        );
        html! {
            <div {class} data-line={n.to_string()} data-mark={top.map(MarkKind::word)} {title}>
                <span class="pe-gutter-icon">{ top.map(MarkKind::icon).unwrap_or("") }</span>
                { n }
            </div>
        }
    });
    let code = (first..last).map(|i| {
        let n = i + 1;
        let top = by_line
            .get(&n)
            .and_then(|ms| ms.iter().map(|m| m.kind).max_by_key(|k| k.rank()));
        let class = classes!(
            "pe-line",
            top.map(MarkKind::class),
            (props.focus_line == Some(n)).then_some("pe-focus")
        );
        html! { <div {class}>{ render_line(lines[i]) }</div> }
    });
    let mut listed: Vec<&LineMark> = props.marks.iter().collect();
    listed.sort_by_key(|m| m.line);

    html! {
        <div class={classes!("program-editor", props.readonly.then_some("pe-readonly"))}>
            <div class="pe-body" style={format!("--pe-digits: {digits}; --pe-line: {LINE_PX}px")}>
                <div class="pe-gutter" aria-hidden="true">
                    <div class="pe-layer" style={format!("transform: translateY({offset}px)")}>
                        { for gutter }
                    </div>
                </div>
                <div class="pe-code">
                    <pre class="pe-highlight" aria-hidden="true"><div
                        class="pe-layer"
                        style={format!("transform: translate({}px, {offset}px)", -view.left)}
                    >{ for code }</div></pre>
                    <textarea
                        ref={textarea}
                        class="pe-input"
                        style={format!("line-height: {LINE_PX}px")}
                        data-testid="program-editor"
                        spellcheck="false"
                        autocomplete="off"
                        autocapitalize="off"
                        wrap="off"
                        aria-label={if props.readonly {
                            "Disassembly of the loaded object (read only)"
                        } else {
                            "BPF assembly program"
                        }}
                        aria-invalid={has_error.then_some("true")}
                        readonly={props.readonly}
                        {oninput}
                        {onscroll}
                        {onkeydown}
                    />
                </div>
            </div>
            <p class="pe-hint">
                { if props.readonly { "Read only. " } else { "Tab indents (Esc, then Tab leaves the editor). " } }
                { "Ctrl+Enter runs." }
            </p>
            if !listed.is_empty() {
                <ul class="pe-marks" data-testid="editor-marks" aria-label="Problems">
                    { for listed.iter().map(|m| html! {
                        <li class={m.kind.class()} data-line={m.line.to_string()}>
                            <span class="pe-gutter-icon" aria-hidden="true">{ m.kind.icon() }</span>
                            { format!("line {} ({}): {}", m.line, m.kind.word(), m.message) }
                        </li>
                    }) }
                </ul>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &str) -> Vec<(TokenKind, &str)> {
        highlight(line)
            .into_iter()
            .map(|(k, r)| (k, &line[r]))
            .collect()
    }

    #[test]
    fn loads_stores_and_registers() {
        use TokenKind::*;
        assert_eq!(
            tokens("r1 = *(u64 *)(r1 +16)"),
            [
                (Register, "r1"),
                (Size, "u64"),
                (Register, "r1"),
                (Number, "16")
            ]
        );
        assert_eq!(
            tokens("    *(u32 *)(r10 -8) = w2"),
            [
                (Size, "u32"),
                (Register, "r10"),
                (Number, "8"),
                (Register, "w2")
            ]
        );
        // r11 is no register, r1x no word we know.
        assert_eq!(tokens("r11 = r1x"), []);
    }

    #[test]
    fn jumps_calls_and_wide_loads() {
        use TokenKind::*;
        assert_eq!(
            tokens("if r1 == 0x0 goto +3"),
            [
                (Keyword, "if"),
                (Register, "r1"),
                (Number, "0x0"),
                (Keyword, "goto"),
                (Number, "3")
            ]
        );
        assert_eq!(tokens("call 126"), [(Keyword, "call"), (Number, "126")]);
        assert_eq!(
            tokens("r2 = 0 ll"),
            [(Register, "r2"), (Number, "0"), (Keyword, "ll")]
        );
        assert_eq!(tokens("exit"), [(Keyword, "exit")]);
        // `#` inside a word is not a comment.
        assert_eq!(
            tokens("call bpf_seq_printf#126 # c"),
            [(Keyword, "call"), (Number, "126"), (Comment, "# c")]
        );
    }

    #[test]
    fn labels_directives_and_comments() {
        use TokenKind::*;
        assert_eq!(
            tokens("LBB0_2: r0 = 0 ; done"),
            [
                (Label, "LBB0_2:"),
                (Register, "r0"),
                (Number, "0"),
                (Comment, "; done")
            ]
        );
        assert_eq!(
            tokens(".section \"iter/bpf_map_elem\""),
            [(Directive, ".section"), (Str, "\"iter/bpf_map_elem\"")]
        );
        assert_eq!(tokens("// all"), [(Comment, "// all")]);
        assert_eq!(
            tokens("hdr:  .asciz \"a;b\\\"\" ; x"),
            [
                (Label, "hdr:"),
                (Directive, ".asciz"),
                (Str, "\"a;b\\\"\""),
                (Comment, "; x")
            ]
        );
        // A verifier-log prefix keeps the statement start but makes no label.
        assert_eq!(
            tokens("5: (63) *(u32 *)(r1 +0) = r2"),
            [
                (Number, "5"),
                (Number, "63"),
                (Size, "u32"),
                (Register, "r1"),
                (Number, "0"),
                (Register, "r2")
            ]
        );
    }

    #[test]
    fn never_splits_characters_and_stays_linear() {
        for line in [
            "é r1 ü",
            "\"unterminated é",
            "r1 = 0 ; ünïcode",
            "(((",
            "\"\\",
        ] {
            for (_, r) in highlight(line) {
                assert!(line.is_char_boundary(r.start) && line.is_char_boundary(r.end));
                assert!(r.end <= line.len());
            }
        }
        let long = "r1 = *(u64 *)(r1 +16) ; ".repeat(20_000);
        assert_eq!(highlight(&long).len(), 5);
    }

    #[test]
    fn caret_offsets_count_utf16() {
        assert_eq!(line_start_utf16("ab\ncd\nef", 1), 0);
        assert_eq!(line_start_utf16("ab\ncd\nef", 3), 6);
        assert_eq!(line_start_utf16("é😀\nx", 2), 4);
        assert_eq!(line_start_utf16("a", 9), 1);
    }
}
