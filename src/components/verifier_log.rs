//! The verifier's verdict: Linux's error line with its errno, and the log in the kernel's format
//! with the failing instruction highlighted.

use iterscope_emulator::Errno;
use yew::prelude::*;

/// Every errno the emulator reports, to turn a `load_error` strerror back into its name.
const ERRNOS: [Errno; 14] = [
    Errno::EPERM,
    Errno::ENOENT,
    Errno::E2BIG,
    Errno::EBADF,
    Errno::EAGAIN,
    Errno::ENOMEM,
    Errno::EACCES,
    Errno::EFAULT,
    Errno::EBUSY,
    Errno::EEXIST,
    Errno::EINVAL,
    Errno::ENOSPC,
    Errno::EOVERFLOW,
    Errno::ENOTSUPP,
];

/// How a line of the verifier log is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMark {
    /// An ordinary line.
    Plain,
    /// The instruction the verifier rejected (the last instruction line before the error line).
    FailingInsn,
    /// The line that equals the verifier's error line.
    Error,
}

impl LogMark {
    fn class(self) -> Option<&'static str> {
        match self {
            LogMark::Plain => None,
            LogMark::FailingInsn => Some("verifier-log-failing"),
            LogMark::Error => Some("verifier-log-error"),
        }
    }
}

/// `strerror (ENAME)` for a load error given as strerror (`Permission denied (EACCES)`);
/// the text unchanged when it is no errno the emulator knows.
pub fn describe_load_error(strerror: &str) -> String {
    ERRNOS
        .iter()
        .find(|e| e.strerror() == strerror)
        .map_or_else(|| strerror.to_owned(), |e| e.describe())
}

/// The prominent line of a rejected load: `R1 cannot write into rdonly_buf — Permission denied
/// (EACCES)`, or the error line alone without a load error.
pub fn error_headline(verifier_error: &str, load_error: Option<&str>) -> String {
    match load_error.filter(|e| !e.is_empty()) {
        Some(e) => format!("{verifier_error} \u{2014} {}", describe_load_error(e)),
        None => verifier_error.to_owned(),
    }
}

/// Whether `line` is an instruction line of the kernel log (`5: (63) *(u32 *)(r1 +0) = r2`).
fn is_insn_line(line: &str) -> bool {
    let line = line.trim_start();
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && line[digits..].starts_with(": (")
}

/// The log's lines (each with its `\n`, so they concatenate back to `log`) and their marks: the
/// last line equal to `error` and the instruction line just before it. Nothing is marked when
/// `error` is empty or not in the log.
pub fn mark_log<'a>(log: &'a str, error: &str) -> Vec<(&'a str, LogMark)> {
    let mut lines: Vec<(&str, LogMark)> = log
        .split_inclusive('\n')
        .map(|l| (l, LogMark::Plain))
        .collect();
    let error = error.trim();
    if error.is_empty() {
        return lines;
    }
    let Some(at) = lines.iter().rposition(|(l, _)| l.trim() == error) else {
        return lines;
    };
    lines[at].1 = LogMark::Error;
    if let Some(insn) = lines[..at].iter().rposition(|(l, _)| is_insn_line(l)) {
        lines[insn].1 = LogMark::FailingInsn;
    }
    lines
}

/// Props of [`VerifierLog`].
#[derive(Debug, Properties, PartialEq)]
pub struct VerifierLogProps {
    /// `"ok"` or `"rejected"`.
    pub load: AttrValue,
    /// Linux's error line when the load was rejected, `""` otherwise.
    #[prop_or_default]
    pub verifier_error: AttrValue,
    /// strerror of a rejected load (`Permission denied`).
    #[prop_or_default]
    pub load_error: Option<AttrValue>,
    /// The verifier log in the kernel's format.
    #[prop_or_default]
    pub log: AttrValue,
    /// The editor line of the failing instruction, when known.
    #[prop_or_default]
    pub failing_line: Option<usize>,
    /// Shows that line in the editor.
    #[prop_or_default]
    pub on_goto: Callback<usize>,
}

/// The "Verify" step: `data-testid="verifier-error"` with the errno when rejected, and the log in
/// `<pre data-testid="verifier-log">` inside a `<details>` that is open only when rejected.
#[function_component(VerifierLog)]
pub fn verifier_log(props: &VerifierLogProps) -> Html {
    let rejected = props.load != "ok";
    let lines = mark_log(
        &props.log,
        if rejected { &props.verifier_error } else { "" },
    );
    let summary = if rejected {
        "Verifier: program rejected"
    } else {
        "Verifier: program loaded"
    };
    html! {
        <div class={classes!("verifier-log", if rejected { "is-rejected" } else { "is-ok" })}>
            if rejected {
                <p class="verifier-error" data-testid="verifier-error" role="alert">
                    { error_headline(&props.verifier_error, props.load_error.as_deref()) }
                </p>
                if let Some(line) = props.failing_line {
                    <button type="button" class="link-button" data-testid="goto-failing-line"
                        onclick={props.on_goto.reform(move |_: MouseEvent| line)}>
                        { format!("Show the failing instruction (line {line}) in the editor") }
                    </button>
                }
            }
            <details open={rejected}>
                <summary>{ summary }</summary>
                <pre class="code verifier-log-text" data-testid="verifier-log" tabindex="0"
                    aria-label="Verifier log">
                    { for lines.into_iter().map(|(line, mark)| match mark.class() {
                        // The newline stays outside the full-width mark, so it still breaks.
                        Some(class) => {
                            let text = line.strip_suffix('\n').unwrap_or(line);
                            let newline = &line[text.len()..];
                            html! {
                                <>
                                    <mark class={class} data-mark={class}>{ text }</mark>
                                    { newline }
                                </>
                            }
                        }
                        None => html! { { line } },
                    }) }
                </pre>
            </details>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "0: R1=ctx() R10=fp0\n\
        ; __u32 *key = ctx->key; @ prog.bpf.c:21\n\
        0: (79) r1 = *(u64 *)(r1 +16)\n\
        ; *key = 9; @ prog.bpf.c:26\n\
        5: (62) *(u32 *)(r1 +0) = 9\n\
        R1 cannot write into rdonly_buf\n\
        processed 6 insns (limit 1000000) max_states_per_insn 0\n";

    #[test]
    fn marks_the_error_line_and_the_instruction_before_it() {
        let lines = mark_log(LOG, "R1 cannot write into rdonly_buf");
        let marked: Vec<_> = lines
            .iter()
            .filter(|(_, m)| *m != LogMark::Plain)
            .map(|(l, m)| (l.trim_end(), *m))
            .collect();
        assert_eq!(
            marked,
            [
                ("5: (62) *(u32 *)(r1 +0) = 9", LogMark::FailingInsn),
                ("R1 cannot write into rdonly_buf", LogMark::Error),
            ]
        );
        let joined: String = lines.iter().map(|(l, _)| *l).collect();
        assert_eq!(joined, LOG, "the lines concatenate back to the log");
    }

    #[test]
    fn marks_nothing_without_a_matching_error() {
        for error in ["", "R2 invalid mem access 'scalar'"] {
            assert!(mark_log(LOG, error)
                .iter()
                .all(|(_, m)| *m == LogMark::Plain));
        }
        assert!(mark_log("", "x").is_empty());
    }

    #[test]
    fn instruction_lines_are_recognised() {
        assert!(is_insn_line("5: (62) *(u32 *)(r1 +0) = 9"));
        assert!(is_insn_line("12: (85) call bpf_seq_printf#126"));
        assert!(!is_insn_line("0: R1=ctx() R10=fp0"));
        assert!(!is_insn_line("; *key = 9; @ prog.bpf.c:26"));
        assert!(!is_insn_line("processed 6 insns"));
    }

    #[test]
    fn the_headline_names_the_errno() {
        assert_eq!(
            error_headline("R1 cannot write into rdonly_buf", Some("Permission denied")),
            "R1 cannot write into rdonly_buf \u{2014} Permission denied (EACCES)"
        );
        assert_eq!(error_headline("bad", None), "bad");
        assert_eq!(describe_load_error("Something odd"), "Something odd");
        assert_eq!(
            describe_load_error("Invalid argument"),
            "Invalid argument (EINVAL)"
        );
    }
}
