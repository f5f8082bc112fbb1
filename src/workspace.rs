//! The user's work as one document: the program, the scenario (map, entries, reads) and the
//! CPU count — what autosave keeps, a share link carries and a scenario file exchanges.
//!
//! A [`Workspace`] serialises to versioned JSON ([`Workspace::to_json`] /
//! [`Workspace::from_json`], checked against [`FORMAT_VERSION`]); a share link is that JSON
//! with the object's bytes beside it, LZ4-compressed and written in unpadded base64url
//! ([`share_code`] / [`from_share_code`]), which fits in a URL fragment. Programs are assembly text or an object
//! (uploaded, or an example's; kept as bytes, base64 in JSON); `example` remembers which
//! example the work started from. Scenario import and export use the CLI's format: the
//! scenario JSON whose `program` names a `.s` or `.o` file next to it ([`export_files`],
//! [`import_file`]).
//!
//! Not here: the browser's storage and location (see [`crate::hooks`]), running anything.

use iterscope_emulator::scenario::Scenario;
use serde::{Deserialize, Serialize};

use crate::examples;

/// The version written into every saved or shared document.
pub const FORMAT_VERSION: u32 = 1;

/// The localStorage key of the autosaved workspace.
pub const STORAGE_KEY: &str = "iterscope.workspace.v1";

/// The URL fragment prefix of a share link (`#w=<code>`).
pub const SHARE_PREFIX: &str = "w=";

/// Largest document a share code may expand to (a bad link cannot exhaust memory).
const MAX_SHARE_JSON: usize = 8 << 20;

/// Why a saved, shared or imported document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceError {
    /// Not the JSON shape of a workspace.
    #[error("not an Iterscope workspace: {0}")]
    Json(String),
    /// Written by a newer or older Iterscope.
    #[error("workspace format version {found} is not supported (this page reads version {FORMAT_VERSION})")]
    Version {
        /// The version in the document.
        found: u32,
    },
    /// The share code is not base64url.
    #[error("share link: invalid character {0:?} at position {1}")]
    Base64(char, usize),
    /// The share code does not inflate.
    #[error("share link: the data is damaged ({0})")]
    Inflate(String),
    /// A file that is neither a scenario, assembly nor an object.
    #[error("{name}: {what}")]
    File {
        /// The file name.
        name: String,
        /// What is wrong.
        what: String,
    },
}

/// The program of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramDoc {
    /// Assembly typed or imported by the user.
    Asm {
        /// File name (`prog.s`), used in exports and error messages.
        name: String,
        /// The text.
        text: String,
    },
    /// A clang-built object (uploaded, or an example's).
    Object {
        /// File name (`prog.bpf.o`).
        name: String,
        /// The bytes.
        #[serde(with = "base64_bytes")]
        bytes: Vec<u8>,
    },
}

impl ProgramDoc {
    /// The program's file name.
    pub fn file_name(&self) -> String {
        match self {
            ProgramDoc::Asm { name, .. } | ProgramDoc::Object { name, .. } => name.clone(),
        }
    }

    /// The object bytes when the program is an object.
    pub fn object_bytes(&self) -> Option<&[u8]> {
        match self {
            ProgramDoc::Object { bytes, .. } => Some(bytes),
            ProgramDoc::Asm { .. } => None,
        }
    }
}

/// Everything the user made: program, scenario and CPU count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// The program.
    pub program: ProgramDoc,
    /// The scenario (its `program` field follows [`ProgramDoc::file_name`]).
    pub scenario: Scenario,
    /// Emulated possible CPUs.
    pub ncpus: u32,
    /// The example the work started from, while the program is still its object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

impl Workspace {
    /// The workspace of an example from its loaded files, with `ncpus` CPUs.
    pub fn from_example_files(
        example: &examples::Example,
        files: &examples::ExampleFiles,
        ncpus: u32,
    ) -> Workspace {
        Workspace {
            version: FORMAT_VERSION,
            program: ProgramDoc::Object {
                name: example.object_name.to_owned(),
                bytes: files.object.to_vec(),
            },
            scenario: files.scenario.clone(),
            ncpus,
            example: Some(example.name.to_owned()),
        }
    }

    /// What the page holds while the first example loads: an empty program.
    pub fn placeholder() -> Workspace {
        Workspace {
            version: FORMAT_VERSION,
            program: ProgramDoc::Asm {
                name: "prog.s".into(),
                text: String::new(),
            },
            scenario: fallback_scenario("prog.s"),
            ncpus: 2,
            example: None,
        }
    }

    /// The workspace of an embedded example (feature `embed-examples`).
    #[cfg(feature = "embed-examples")]
    pub fn from_example(example: &examples::Example) -> Result<Workspace, WorkspaceError> {
        let files = examples::embedded(example.name).map_err(WorkspaceError::Json)?;
        Ok(Workspace::from_example_files(example, &files, 2))
    }

    /// The first example's workspace (feature `embed-examples`).
    #[cfg(feature = "embed-examples")]
    pub fn default_example() -> Workspace {
        Workspace::from_example(examples::default_example())
            .unwrap_or_else(|_| Workspace::placeholder())
    }

    /// Versioned JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a document written by [`Workspace::to_json`]; checks the version and that a
    /// named example exists.
    pub fn from_json(text: &str) -> Result<Workspace, WorkspaceError> {
        #[derive(Deserialize)]
        struct Head {
            version: u32,
        }
        let head: Head =
            serde_json::from_str(text).map_err(|e| WorkspaceError::Json(e.to_string()))?;
        if head.version != FORMAT_VERSION {
            return Err(WorkspaceError::Version {
                found: head.version,
            });
        }
        let mut ws: Workspace =
            serde_json::from_str(text).map_err(|e| WorkspaceError::Json(e.to_string()))?;
        if ws
            .example
            .as_deref()
            .is_some_and(|n| examples::find(n).is_none())
        {
            // An example this page does not list: the program (an object) is still here.
            ws.example = None;
        }
        Ok(ws)
    }

    /// The scenario with its `program` naming this workspace's program file.
    pub fn scenario_for_export(&self) -> Scenario {
        let mut sc = self.scenario.clone();
        sc.program = self.program.file_name();
        sc
    }
}

/// A scenario that always parses: an empty hash map (used only if an embedded example is
/// broken, which the tests rule out).
fn fallback_scenario(program: &str) -> Scenario {
    Scenario::from_json(&format!(
        r#"{{"program":"{program}","map":{{"type":"hash","key_size":4,"value_size":8,"max_entries":16}}}}"#
    ))
    .unwrap_or_else(|_| unreachable!("the fallback scenario is valid JSON"))
}

/// The share code of `ws`: the workspace JSON (an object program's bytes taken out) and the
/// object bytes, as `u32 json length, json, object`, LZ4-compressed, in unpadded base64url.
/// Keeping the object raw rather than base64 inside the JSON lets it compress.
pub fn share_code(ws: &Workspace) -> String {
    let mut doc = ws.clone();
    let object = match &mut doc.program {
        ProgramDoc::Object { bytes, .. } => std::mem::take(bytes),
        ProgramDoc::Asm { .. } => Vec::new(),
    };
    let json = doc.to_json();
    let mut payload = Vec::with_capacity(4 + json.len() + object.len());
    payload.extend_from_slice(&(json.len() as u32).to_le_bytes());
    payload.extend_from_slice(json.as_bytes());
    payload.extend_from_slice(&object);
    base64_bytes::encode_url(&lz4_flex::block::compress_prepend_size(&payload))
}

/// The workspace in a share code (with or without the `w=` prefix).
pub fn from_share_code(code: &str) -> Result<Workspace, WorkspaceError> {
    let damaged = |what: String| WorkspaceError::Inflate(what);
    let code = code.trim().trim_start_matches('#');
    let code = code.strip_prefix(SHARE_PREFIX).unwrap_or(code);
    let packed = base64_bytes::decode_url(code)?;
    let le32 = |b: &[u8]| -> Option<usize> {
        Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize)
    };
    let size = le32(&packed).ok_or_else(|| damaged("too short".into()))?;
    if size > MAX_SHARE_JSON {
        return Err(damaged(format!("{size} bytes is too large")));
    }
    let payload =
        lz4_flex::block::decompress_size_prepended(&packed).map_err(|e| damaged(e.to_string()))?;
    let json_len = le32(&payload).ok_or_else(|| damaged("no header".into()))?;
    let json = payload
        .get(4..4 + json_len)
        .ok_or_else(|| damaged(format!("{json_len} bytes of JSON announced")))?;
    let object = &payload[4 + json_len..];
    let text = std::str::from_utf8(json).map_err(|e| damaged(e.to_string()))?;
    let mut ws = Workspace::from_json(text)?;
    if let ProgramDoc::Object { bytes, .. } = &mut ws.program {
        *bytes = object.to_vec();
    }
    Ok(ws)
}

/// A file to download: name, MIME type and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// Suggested file name.
    pub name: String,
    /// MIME type.
    pub mime: &'static str,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// The CLI's files for `ws`: `<stem>.json` (the scenario) and the program (`.s` or `.o`), so
/// `iterscope run <stem>.json` reproduces the run.
pub fn export_files(ws: &Workspace) -> Vec<ExportFile> {
    let sc = ws.scenario_for_export();
    let program = ws.program.file_name();
    let stem = program
        .strip_suffix(".bpf.o")
        .or_else(|| program.strip_suffix(".o"))
        .or_else(|| program.strip_suffix(".s"))
        .unwrap_or(&program)
        .to_owned();
    let program_file = match &ws.program {
        ProgramDoc::Asm { text, .. } => ExportFile {
            name: program.clone(),
            mime: "text/plain",
            bytes: text.as_bytes().to_vec(),
        },
        other => ExportFile {
            name: program.clone(),
            mime: "application/octet-stream",
            bytes: other.object_bytes().unwrap_or_default().to_vec(),
        },
    };
    vec![
        ExportFile {
            name: format!("{stem}.json"),
            mime: "application/json",
            bytes: format!("{}\n", sc.to_json()).into_bytes(),
        },
        program_file,
    ]
}

/// What an imported file changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Imported {
    /// A scenario (`.json`): replaces the map, reads and options; the program stays.
    Scenario(Box<Scenario>),
    /// A whole saved workspace (`.json` written by [`Workspace::to_json`]).
    Workspace(Box<Workspace>),
    /// A program (`.s` text or `.o` object).
    Program(ProgramDoc),
}

/// Classifies a file the user picked or dropped by name and contents.
pub fn import_file(name: &str, bytes: &[u8]) -> Result<Imported, WorkspaceError> {
    let file_error = |what: String| WorkspaceError::File {
        name: name.to_owned(),
        what,
    };
    if bytes.starts_with(b"\x7fELF") {
        return Ok(Imported::Program(ProgramDoc::Object {
            name: name.to_owned(),
            bytes: bytes.to_vec(),
        }));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| file_error(format!("neither an ELF object nor UTF-8 text ({e})")))?;
    if name.ends_with(".json") {
        if text.contains("\"version\"") && text.contains("\"ncpus\"") {
            return Workspace::from_json(text).map(|ws| Imported::Workspace(Box::new(ws)));
        }
        return Scenario::from_json(text)
            .map(|sc| Imported::Scenario(Box::new(sc)))
            .map_err(|e| file_error(e.to_string()));
    }
    if name.ends_with(".o") {
        return Err(file_error("not an ELF object (no \\x7fELF magic)".into()));
    }
    Ok(Imported::Program(ProgramDoc::Asm {
        name: if name.ends_with(".s") {
            name.to_owned()
        } else {
            format!("{name}.s")
        },
        text: text.to_owned(),
    }))
}

/// Base64 for object bytes in JSON (standard alphabet, padded) and for share codes
/// (base64url, unpadded).
mod base64_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::WorkspaceError;

    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..4 {
                if i < chars {
                    out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
                } else if pad {
                    out.push('=');
                }
            }
        }
        out
    }

    fn decode(text: &str) -> Result<Vec<u8>, WorkspaceError> {
        let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
        let (mut acc, mut bits) = (0u32, 0u32);
        for (i, c) in text.char_indices() {
            let v = match c {
                'A'..='Z' => c as u32 - 'A' as u32,
                'a'..='z' => c as u32 - 'a' as u32 + 26,
                '0'..='9' => c as u32 - '0' as u32 + 52,
                '+' | '-' => 62,
                '/' | '_' => 63,
                '=' => break,
                _ => return Err(WorkspaceError::Base64(c, i)),
            };
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Ok(out)
    }

    pub(super) fn encode_url(bytes: &[u8]) -> String {
        encode(bytes, URL, false)
    }

    pub(super) fn decode_url(text: &str) -> Result<Vec<u8>, WorkspaceError> {
        decode(text)
    }

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes, STD, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).map_err(serde::de::Error::custom)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trips_every_length_in_both_alphabets() {
            let data: Vec<u8> = (0..=255u8).collect();
            for len in 0..40 {
                let b = &data[..len];
                assert_eq!(decode(&encode(b, STD, true)).ok().as_deref(), Some(b));
                assert_eq!(decode(&encode_url(b)).ok().as_deref(), Some(b));
            }
            assert_eq!(encode(b"foobar", STD, true), "Zm9vYmFy");
            assert_eq!(encode(b"fo", STD, true), "Zm8=");
            assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
        }

        #[test]
        fn rejects_foreign_characters_with_their_position() {
            assert_eq!(decode("ab*c"), Err(WorkspaceError::Base64('*', 2)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asm_workspace() -> Workspace {
        let mut ws = Workspace::default_example();
        ws.program = ProgramDoc::Asm {
            name: "count.s".into(),
            text: ".section \"iter/bpf_map_elem\"\n    r0 = 0\n    exit\n".into(),
        };
        ws
    }

    #[test]
    fn every_example_makes_a_workspace() {
        for e in examples::EXAMPLES {
            let ws = Workspace::from_example(e).expect("example scenario parses");
            assert!(ws
                .program
                .object_bytes()
                .is_some_and(|b| b.starts_with(b"\x7fELF")));
            assert_eq!(ws.program.file_name(), e.object_name);
            assert_eq!(ws.example.as_deref(), Some(e.name));
        }
    }

    #[test]
    fn json_round_trips_and_checks_the_version() {
        let ws = asm_workspace();
        assert_eq!(Workspace::from_json(&ws.to_json()), Ok(ws.clone()));
        let newer = ws.to_json().replace("\"version\":1", "\"version\":2");
        assert_eq!(
            Workspace::from_json(&newer),
            Err(WorkspaceError::Version { found: 2 })
        );
        assert!(matches!(
            Workspace::from_json("{\"version\":1}"),
            Err(WorkspaceError::Json(_))
        ));
    }

    #[test]
    fn objects_travel_as_base64() {
        let mut ws = asm_workspace();
        ws.program = ProgramDoc::Object {
            name: "x.bpf.o".into(),
            bytes: b"\x7fELF-not-really".to_vec(),
        };
        let json = ws.to_json();
        assert!(
            json.contains("\"object\":{\"name\":\"x.bpf.o\",\"bytes\":\"f0VMR"),
            "{json}"
        );
        assert_eq!(Workspace::from_json(&json), Ok(ws));
    }

    #[test]
    fn share_codes_round_trip_and_are_url_safe() {
        for ws in [Workspace::default_example(), asm_workspace()] {
            let code = share_code(&ws);
            assert!(code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(from_share_code(&code), Ok(ws.clone()));
            assert_eq!(
                from_share_code(&format!("#{SHARE_PREFIX}{code}")),
                Ok(ws.clone())
            );
            eprintln!(
                "share code {} chars for {} bytes of JSON",
                code.len(),
                ws.to_json().len()
            );
            assert!(
                code.len() < ws.to_json().len() * 4 / 3,
                "compression pays off"
            );
        }
    }

    #[test]
    fn no_share_code_makes_it_panic() {
        // Random text, and a valid code with one character changed at every position.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for _ in 0..500 {
            let len = (next() % 200) as usize;
            let code: String = (0..len)
                .map(|_| char::from(ALPHABET[(next() % 64) as usize]))
                .collect();
            let _ = from_share_code(&code);
        }
        let code = share_code(&asm_workspace());
        for i in 0..code.len() {
            let mut b = code.clone().into_bytes();
            b[i] = ALPHABET[(next() % 64) as usize];
            let _ = from_share_code(&String::from_utf8(b).unwrap_or_default());
        }
    }

    #[test]
    fn damaged_share_codes_are_errors() {
        assert!(matches!(
            from_share_code("not base64!"),
            Err(WorkspaceError::Base64(' ', 3))
        ));
        assert!(matches!(
            from_share_code("AAAA"),
            Err(WorkspaceError::Inflate(_) | WorkspaceError::Json(_))
        ));
        let code = share_code(&asm_workspace());
        let truncated = &code[..code.len() / 2];
        assert!(from_share_code(truncated).is_err());
    }

    #[test]
    fn unknown_examples_are_forgotten_but_the_program_kept() {
        let ws = Workspace::default_example();
        let json = ws.to_json().replace(
            &format!("\"example\":\"{}\"", examples::default_example().name),
            "\"example\":\"no_such_example\"",
        );
        let back = Workspace::from_json(&json).expect("still a workspace");
        assert_eq!(back.example, None);
        assert_eq!(back.program, ws.program);
    }

    #[test]
    fn export_then_import_gives_back_program_and_scenario() {
        let ws = asm_workspace();
        let files = export_files(&ws);
        assert_eq!(files[0].name, "count.json");
        assert_eq!(files[1].name, "count.s");
        match import_file(&files[0].name, &files[0].bytes) {
            Ok(Imported::Scenario(sc)) => assert_eq!(*sc, ws.scenario_for_export()),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            import_file(&files[1].name, &files[1].bytes),
            Ok(Imported::Program(ws.program.clone()))
        );
        let ex = Workspace::default_example();
        let files = export_files(&ex);
        assert_eq!(Some(files[1].bytes.as_slice()), ex.program.object_bytes());
        assert!(matches!(
            import_file("hash_dump.bpf.o", &files[1].bytes),
            Ok(Imported::Program(ProgramDoc::Object { .. }))
        ));
        let saved = ex.to_json();
        assert_eq!(
            import_file("work.json", saved.as_bytes()),
            Ok(Imported::Workspace(Box::new(ex)))
        );
    }

    #[test]
    fn bad_imports_name_the_file() {
        let e = import_file("x.o", b"text").expect_err("not ELF");
        assert!(e.to_string().starts_with("x.o: "), "{e}");
        let e = import_file("sc.json", b"{").expect_err("bad JSON");
        assert!(e.to_string().starts_with("sc.json: "), "{e}");
        let e = import_file("bin", &[0xff, 0xfe, 0]).expect_err("binary");
        assert!(e.to_string().contains("neither an ELF"), "{e}");
    }
}
