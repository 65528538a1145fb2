//! Build script: preprocesses `shaders/*.wgsl` (`//#include "x.wgsl"`), validates every shader
//! in both precisions with naga, and embeds the preprocessed texts in the binary.
//!
//! Output: `$OUT_DIR/shaders.rs` (included by `src/gpu/shader_source.rs`) and one preprocessed
//! body per shader under `$OUT_DIR/wgsl/`. A shader that fails to parse or validate fails the build.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Prepended to every shader body; the only place the `real` alias is defined.
const PRELUDE_F32: &str = "alias real = f32;\n";
const PRELUDE_F64: &str = "alias real = f64;\n";

/// Workgroup size every compute entry point must declare (see `src/gpu/kernel.rs`).
const WORKGROUP_SIZE: [u32; 3] = [64, 1, 1];

/// GLSL.std.450 defines these for 16/32-bit floats only: on Vulkan they silently return
/// garbage for f64 (seen on lavapipe), so the f64 variant must not use them.
const F64_UNSUPPORTED: &[naga::MathFunction] = {
    use naga::MathFunction as M;
    &[
        M::Sin,
        M::Cos,
        M::Tan,
        M::Asin,
        M::Acos,
        M::Atan,
        M::Atan2,
        M::Sinh,
        M::Cosh,
        M::Tanh,
        M::Asinh,
        M::Acosh,
        M::Atanh,
        M::Exp,
        M::Exp2,
        M::Log,
        M::Log2,
        M::Pow,
        M::Radians,
        M::Degrees,
    ]
};

const INCLUDE_DIRECTIVE: &str = "//#include";

/// A preprocessed shader: its text and, for each of its lines, the (file, 1-based line) it came from.
struct Expanded {
    text: String,
    origin: Vec<(String, usize)>,
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=shaders");
    git_commit();

    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let shader_dir = manifest_dir.join("shaders");

    let sources = read_sources(&shader_dir);
    let mut errors = Vec::new();
    let mut expanded = BTreeMap::new();
    for file in sources.keys() {
        match expand(file, &sources) {
            Ok(e) => {
                expanded.insert(file.clone(), e);
            }
            Err(msg) => errors.push(msg),
        }
    }

    // Only kernels (files declaring `@compute`) are validated; include-only files may use
    // names their includers define, and are validated through them.
    for (file, e) in &expanded {
        if !declares_compute(&sources[file]) {
            continue;
        }
        for (prelude, caps, variant) in [
            (PRELUDE_F32, naga::valid::Capabilities::default(), "f32"),
            (
                PRELUDE_F64,
                naga::valid::Capabilities::default() | naga::valid::Capabilities::FLOAT64,
                "f64",
            ),
        ] {
            if let Err(msg) = check(file, e, prelude, caps, variant) {
                errors.push(msg);
            }
        }
    }

    if !errors.is_empty() {
        for msg in &errors {
            eprintln!("{msg}\n");
        }
        eprintln!(
            "error: {} shader error(s) in {}",
            errors.len(),
            shader_dir.display()
        );
        std::process::exit(1);
    }

    write_table(&out_dir, &expanded);
}

/// `CQGRAV_GIT_COMMIT` for the output provenance (SPEC §7): `git rev-parse HEAD` at build time, or "unknown".
fn git_commit() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CQGRAV_GIT_COMMIT={commit}");
    // rebuild when HEAD moves (only files that exist: a missing path would rerun every build)
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = PathBuf::from(dir);
        let mut watch = vec![dir.join("HEAD"), dir.join("packed-refs")];
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(dir.join(r));
        }
        for p in watch.into_iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}

/// `shaders/*.wgsl`, keyed by file name. A missing directory is an empty set.
fn read_sources(dir: &Path) -> BTreeMap<String, String> {
    let mut sources = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return sources;
    };
    for entry in entries {
        let path = entry.expect("reading shaders/").path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        let name = path
            .file_name()
            .unwrap()
            .to_str()
            .expect("non-UTF-8 shader file name")
            .to_owned();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        sources.insert(name, text);
    }
    sources
}

/// Whether `source` itself (comments stripped, includes not expanded) contains `@compute`.
fn declares_compute(source: &str) -> bool {
    let mut code = String::with_capacity(source.len());
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if rest.starts_with("/*") {
            // Block comments nest in WGSL.
            let mut depth = 0usize;
            while !rest.is_empty() {
                if let Some(r) = rest.strip_prefix("/*") {
                    depth += 1;
                    rest = r;
                } else if let Some(r) = rest.strip_prefix("*/") {
                    depth -= 1;
                    rest = r;
                    if depth == 0 {
                        break;
                    }
                } else {
                    rest = &rest[rest.chars().next().unwrap().len_utf8()..];
                }
            }
            code.push(' ');
        } else {
            let c = rest.chars().next().unwrap();
            code.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    code.contains("@compute")
}

/// Textual `//#include "x.wgsl"` expansion: recursive, each file at most once (the root included).
fn expand(root: &str, sources: &BTreeMap<String, String>) -> Result<Expanded, String> {
    let mut out = Expanded {
        text: String::new(),
        origin: Vec::new(),
    };
    let mut seen = BTreeSet::from([root.to_owned()]);
    expand_into(root, sources, &mut seen, &mut out)?;
    Ok(out)
}

fn expand_into(
    file: &str,
    sources: &BTreeMap<String, String>,
    seen: &mut BTreeSet<String>,
    out: &mut Expanded,
) -> Result<(), String> {
    for (i, line) in sources[file].lines().enumerate() {
        let line_no = i + 1;
        let Some(rest) = line.trim().strip_prefix(INCLUDE_DIRECTIVE) else {
            out.text.push_str(line);
            out.text.push('\n');
            out.origin.push((file.to_owned(), line_no));
            continue;
        };
        let name = rest.trim().strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or_else(|| {
            format!("error: shaders/{file}:{line_no}: malformed include, expected {INCLUDE_DIRECTIVE} \"name.wgsl\": {line}")
        })?;
        if !sources.contains_key(name) {
            return Err(format!(
                "error: shaders/{file}:{line_no}: included file \"{name}\" not found in shaders/"
            ));
        }
        if !seen.insert(name.to_owned()) {
            writeln!(out.text, "// (already included: \"{name}\")").unwrap();
            out.origin.push((file.to_owned(), line_no));
            continue;
        }
        writeln!(out.text, "// begin include \"{name}\"").unwrap();
        out.origin.push((file.to_owned(), line_no));
        expand_into(name, sources, seen, out)?;
        writeln!(out.text, "// end include \"{name}\"").unwrap();
        out.origin.push((file.to_owned(), line_no));
    }
    Ok(())
}

/// Parses and validates one precision variant; also enforces the project's kernel conventions.
fn check(
    file: &str,
    e: &Expanded,
    prelude: &str,
    caps: naga::valid::Capabilities,
    variant: &str,
) -> Result<(), String> {
    let source = format!("{prelude}{}", e.text);
    let label = format!("shaders/{file} ({variant} variant, after includes)");
    let prelude_lines = prelude.lines().count();
    // Preprocessed location -> `shaders/<file>:<line>` of the original text.
    let locate = |loc: Option<naga::SourceLocation>| -> Option<String> {
        let i = (loc?.line_number as usize).checked_sub(prelude_lines + 1)?;
        e.origin.get(i).map(|(f, l)| format!("shaders/{f}:{l}"))
    };
    let with_origin = |diagnostic: String, loc: Option<naga::SourceLocation>| -> String {
        match locate(loc) {
            Some(at) => format!(
                "{}\n  = in the original source: {at}",
                diagnostic.trim_end()
            ),
            None => diagnostic.trim_end().to_owned(),
        }
    };

    let module = naga::front::wgsl::parse_str(&source).map_err(|err| {
        format!(
            "error: WGSL parse error in {label}\n{}",
            with_origin(
                err.emit_to_string_with_path(&source, &label),
                err.location(&source)
            )
        )
    })?;
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|err| {
            format!(
                "error: WGSL validation error in {label}\n{}",
                with_origin(
                    err.emit_to_string_with_path(&source, &label),
                    err.location(&source)
                )
            )
        })?;

    let mut problems = Vec::new();
    for ep in &module.entry_points {
        if ep.stage == naga::ShaderStage::Compute && ep.workgroup_size != WORKGROUP_SIZE {
            problems.push(format!(
                "entry point `{}` has @workgroup_size{:?}; cqgrav kernels must use @workgroup_size(64) (see src/gpu/kernel.rs)",
                ep.name, ep.workgroup_size
            ));
        }
    }
    if caps.contains(naga::valid::Capabilities::FLOAT64) {
        let functions = module.functions.iter().map(|(h, f)| (f, &info[h]));
        let entries = module
            .entry_points
            .iter()
            .enumerate()
            .map(|(i, ep)| (&ep.function, info.get_entry_point(i)));
        for (function, finfo) in functions.chain(entries) {
            for (h, expr) in function.expressions.iter() {
                let naga::Expression::Math { fun, arg, .. } = *expr else {
                    continue;
                };
                let is_f64 = finfo[arg]
                    .ty
                    .inner_with(&module.types)
                    .scalar()
                    .is_some_and(|s| s.kind == naga::ScalarKind::Float && s.width == 8);
                if is_f64 && F64_UNSUPPORTED.contains(&fun) {
                    let span = function.expressions.get_span(h);
                    let at = locate(span.is_defined().then(|| span.location(&source)));
                    problems.push(format!(
                        "{}{fun:?} on f64 is not supported by Vulkan (GLSL.std.450 is 16/32-bit only: it returns garbage); \
                         compute it in f32, or another way",
                        at.map(|a| format!("{a}: ")).unwrap_or_default()
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("error: in {label}:\n  {}", problems.join("\n  ")))
    }
}

/// Writes `$OUT_DIR/wgsl/<file>` bodies and the `$OUT_DIR/shaders.rs` table that embeds them.
fn write_table(out_dir: &Path, expanded: &BTreeMap<String, Expanded>) {
    let wgsl_dir = out_dir.join("wgsl");
    std::fs::create_dir_all(&wgsl_dir).expect("creating $OUT_DIR/wgsl");
    let mut table = String::new();
    writeln!(table, "// Generated by build.rs. Do not edit.").unwrap();
    writeln!(
        table,
        "pub(crate) const PRELUDE_F32: &str = {PRELUDE_F32:?};"
    )
    .unwrap();
    writeln!(
        table,
        "pub(crate) const PRELUDE_F64: &str = {PRELUDE_F64:?};"
    )
    .unwrap();
    writeln!(
        table,
        "/// (file name, preprocessed body without prelude), sorted by name."
    )
    .unwrap();
    writeln!(table, "pub(crate) static SHADERS: &[(&str, &str)] = &[").unwrap();
    for (file, e) in expanded {
        let path = wgsl_dir.join(file);
        write_if_changed(&path, &e.text);
        let path = path.to_str().expect("non-UTF-8 OUT_DIR");
        writeln!(table, "    ({file:?}, include_str!({path:?})),").unwrap();
    }
    writeln!(table, "];").unwrap();
    write_if_changed(&out_dir.join("shaders.rs"), &table);
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}
