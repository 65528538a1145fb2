//! Loading a configuration: TOML file (or the built-in default example), `--set` overrides, deserialisation
//! with error messages that name the full dotted key, say what is allowed, and point at the file position.
use super::{key_info_in, keys_in, tables_in, Config, ConfigError, KeyInfo, Problem};
use serde_path_to_error::Segment;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::{Spanned, Table, Value};

/// The built-in default example (`data/default.toml`): used when no config file is given.
pub const DEFAULT_TOML: &str = include_str!("../../data/default.toml");

/// A configuration schema loaded by [`load_schema_lenient`]: the lattice run's [`Config`] (SPEC §10) or another
/// model's (the toy systems of SPEC §12, `crate::toy::ToyConfig`), each with its own documented keys.
pub trait Schema: serde::de::DeserializeOwned + serde::Serialize + Default {
    /// Every key of the schema, in documentation order.
    const KEYS: &'static [KeyInfo];
    /// Tables of other schemas that a user may put in the wrong file, with what to do instead: (table, hint).
    const FOREIGN_TABLES: &'static [(&'static str, &'static str)] = &[];
    /// Non-fatal remarks on the loaded values; `has(table, key)` says whether the file or `--set` gave the key.
    fn warnings(&self, _has: &dyn Fn(&str, &str) -> bool) -> Vec<String> {
        Vec::new()
    }
}

impl Schema for Config {
    const KEYS: &'static [KeyInfo] = super::KEYS;
    const FOREIGN_TABLES: &'static [(&'static str, &'static str)] =
        &[("model", "this is a toy-model configuration (SPEC §12, docs/toy.md): run it with `cqgrav toy FILE`")];
    fn warnings(&self, has: &dyn Fn(&str, &str) -> bool) -> Vec<String> {
        let config = self;
        let mut warnings = Vec::new();
        if has("time", "dt") && has("time", "courant") {
            warnings.push(format!(
                "time.courant = {} is ignored because time.dt = {} is given",
                config.time.courant,
                config.dt()
            ));
        }
        if has("time", "steps") && has("time", "t_end") {
            warnings.push(format!(
                "time.t_end = {} is ignored because time.steps = {} is given",
                config.time.t_end,
                config.n_steps()
            ));
        }
        warnings
    }
}

/// A loaded (deserialised, not yet validated) configuration.
#[derive(Debug, Clone)]
pub struct LoadedConfig<C = Config> {
    pub config: C,
    /// The full effective configuration (every key, defaults filled in, after `--set` overrides) as TOML text,
    /// preceded by comment lines naming the source and the overrides. Loading it again gives `config`.
    pub text: String,
    /// Non-fatal remarks (e.g. a key that is ignored because another one wins).
    pub warnings: Vec<String>,
}

/// Load `path` (or the built-in default example when `None`), apply the `--set KEY=VALUE` overrides in order,
/// and deserialise. Unknown keys, wrong types and malformed overrides are all collected into one
/// [`ConfigError::Invalid`]; a TOML syntax error is a [`ConfigError::Syntax`] with the file position.
/// Value ranges are not checked here: see [`super::validate`] or [`load_and_validate`].
pub fn load(path: Option<&Path>, sets: &[String]) -> Result<LoadedConfig, ConfigError> {
    let (loaded, problems) = load_lenient(path, sets)?;
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// [`load`] followed by [`super::validate`]. On failure the error lists the loading problems and the value
/// problems of what could be loaded, together; on success the warnings of both are returned.
pub fn load_and_validate(path: Option<&Path>, sets: &[String]) -> Result<LoadedConfig, ConfigError> {
    finish_validation(load_lenient(path, sets)?)
}

fn finish_validation((mut loaded, mut problems): (LoadedConfig, Vec<Problem>)) -> Result<LoadedConfig, ConfigError> {
    let review = super::review(&loaded.config);
    problems.extend(review.problems);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    loaded.warnings.extend(review.warnings);
    Ok(loaded)
}

/// Like [`load`], but loads as much as it can: entries with an unknown key or a wrong type (and malformed
/// `--set` arguments) are dropped, so their defaults apply, and returned as problems beside the config.
/// Only an unreadable file or invalid TOML syntax is an error here. `cqgrav check` uses this to report the
/// loading problems and the value problems of the rest in one go.
pub fn load_lenient(path: Option<&Path>, sets: &[String]) -> Result<(LoadedConfig, Vec<Problem>), ConfigError> {
    load_schema_lenient::<Config>(path, ("<built-in default example data/default.toml>", DEFAULT_TOML), sets)
}

/// [`load_lenient`] for any [`Schema`] `C`; `default` = (origin, TOML text) used when `path` is `None`.
pub fn load_schema_lenient<C: Schema>(
    path: Option<&Path>,
    default: (&str, &str),
    sets: &[String],
) -> Result<(LoadedConfig<C>, Vec<Problem>), ConfigError> {
    match path {
        Some(p) => load_lenient_text::<C>(&p.display().to_string(), &read_config_file(p)?, sets),
        None => load_lenient_text::<C>(default.0, default.1, sets),
    }
}

/// Largest configuration file `cqgrav` reads: a real configuration is a few kilobytes; anything near this is
/// not one (`/dev/zero`, a data file given by mistake) and would otherwise be read without bound.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The text of a configuration file: a regular file (not a FIFO, device or directory, which could block or
/// never end) of at most [`MAX_CONFIG_BYTES`], in UTF-8.
pub fn read_config_file(p: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let io = |source: std::io::Error| ConfigError::Io { path: p.display().to_string(), source };
    let refuse = |why: String| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
    let meta = std::fs::metadata(p).map_err(io)?;
    if !meta.is_file() {
        return Err(refuse(format!("not a regular file ({}); give a TOML file", crate::io::file_kind(&meta))));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(refuse(format!(
            "{} bytes, more than the {} bytes a configuration may have (is this a TOML configuration?)",
            meta.len(),
            MAX_CONFIG_BYTES
        )));
    }
    let mut text = String::new();
    std::fs::File::open(p).map_err(io)?.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text).map_err(io)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(refuse(format!("more than the {MAX_CONFIG_BYTES} bytes a configuration may have")));
    }
    Ok(text)
}

/// [`load`] of a configuration given as text (`origin` names it in messages, e.g. the checkpoint it came from).
pub fn load_text(origin: &str, text: &str, sets: &[String]) -> Result<LoadedConfig, ConfigError> {
    let (loaded, problems) = load_lenient_text::<Config>(origin, text, sets)?;
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// [`load_and_validate`] of a configuration given as text.
pub fn load_and_validate_text(origin: &str, text: &str, sets: &[String]) -> Result<LoadedConfig, ConfigError> {
    finish_validation(load_lenient_text::<Config>(origin, text, sets)?)
}

fn load_lenient_text<C: Schema>(origin: &str, text: &str, sets: &[String]) -> Result<(LoadedConfig<C>, Vec<Problem>), ConfigError> {
    let (origin, text) = (origin.to_string(), text.to_string());
    // Parse twice: once keeping spans (to point at lines), once into plain values (to edit and deserialise).
    let spanned = DeTable::parse(&text).map_err(|e| syntax_error(&origin, &text, &e))?;
    let mut table: Table = toml::from_str(&text).map_err(|e| syntax_error(&origin, &text, &e))?;

    let mut problems = Vec::new();
    // Dotted keys set on the command line, with the argument that set them (the last one wins).
    let mut overridden: Vec<(String, String)> = Vec::new();
    for arg in sets {
        match parse_set::<C>(arg) {
            Ok((table_name, key, value)) => {
                let entry = table
                    .entry(table_name.clone())
                    .or_insert_with(|| Value::Table(Table::new()));
                match entry {
                    Value::Table(t) => {
                        t.insert(key.clone(), value);
                        let dotted = format!("{table_name}.{key}");
                        overridden.retain(|(k, _)| *k != dotted);
                        overridden.push((dotted, arg.clone()));
                    }
                    _ => problems.push(
                        Problem::new(
                            format!("{table_name}.{key}"),
                            format!("cannot apply --set: `{table_name}` in the config file is not a table"),
                        )
                        .at(Some(format!("--set {arg}"))),
                    ),
                }
            }
            Err(p) => problems.push(p),
        }
    }

    // Deserialise; on an error, record it, remove the offending entry and try again, so that every unknown key
    // and wrong type is reported at once (serde stops at the first).
    let mut config = None;
    for _ in 0..200 {
        match serde_path_to_error::deserialize::<_, C>(table.clone()) {
            Ok(c) => {
                config = Some(c);
                break;
            }
            Err(e) => {
                let segs: Vec<String> = e
                    .path()
                    .iter()
                    .filter_map(|s| match s {
                        Segment::Map { key } => Some(key.clone()),
                        _ => None,
                    })
                    .collect();
                let full_path = e.path().to_string();
                let message = e.inner().message().to_string();
                let dotted = segs.join(".");
                let unknown = message.starts_with("unknown field");
                let location = match overridden.iter().find(|(k, _)| *k == dotted) {
                    Some((_, arg)) => Some(format!("--set {arg}")),
                    None => locate(&spanned, e.path(), unknown).map(|off| position(&origin, &text, off)),
                };
                problems
                    .push(Problem::new(dotted.clone(), describe::<C>(&segs, &full_path, &message, unknown)).at(location));
                if segs.is_empty() || !remove(&mut table, &segs) {
                    break;
                }
            }
        }
    }
    // `None` is not reached in practice (every error removes an entry); fall back to the defaults.
    let config: C = config.unwrap_or_default();

    let has = |t: &str, k: &str| {
        table
            .get(t)
            .and_then(|v| v.as_table())
            .is_some_and(|t| t.contains_key(k))
    };
    let warnings = config.warnings(&has);

    let body = toml::to_string(&config).map_err(|e| {
        ConfigError::Invalid(vec![Problem::new(
            "(config)",
            format!("cannot write the effective config as TOML: {e}"),
        )])
    })?;
    let mut out = String::from("# cqgrav effective configuration (every key, defaults filled in)\n");
    out.push_str(&format!("# source: {origin}\n"));
    for arg in sets {
        out.push_str(&format!("# --set {}\n", arg.replace('\n', " ")));
    }
    out.push_str(&body);
    Ok((
        LoadedConfig {
            config,
            text: out,
            warnings,
        },
        problems,
    ))
}

/// `KEY=VALUE` → (table, key, value). VALUE is read as a TOML value (`[8,8,8]`, `0.3`, `"cpu"`, `true`); text
/// that is not valid TOML (a bare word such as `cpu`) is taken as a string.
fn parse_set<C: Schema>(arg: &str) -> Result<(String, String, Value), Problem> {
    let (tables, keys_of, key_info) = (|| tables_in(C::KEYS), |t: &str| keys_in(C::KEYS, t), |d: &str| key_info_in(C::KEYS, d));
    let loc = Some(format!("--set {arg}"));
    let Some((k, v)) = arg.split_once('=') else {
        return Err(Problem::new(
            arg.trim(),
            "--set expects KEY=VALUE with a dotted key, e.g. --set lattice.shape=[8,8,8] or --set run.backend=cpu",
        )
        .at(loc));
    };
    let segs: Vec<&str> = k.trim().split('.').map(str::trim).collect();
    let dotted = segs.join(".");
    let valid_tables = tables().join(", ");
    match segs.as_slice() {
        [t] if tables().contains(t) => {
            return Err(Problem::new(
                dotted,
                format!(
                    "`{t}` is a table, --set takes a single key; valid keys in [{t}]: {}",
                    dotted_list(t, &keys_of(t))
                ),
            )
            .at(loc))
        }
        [t, key, ..] if tables().contains(t) => {
            if !keys_of(t).contains(key) {
                return Err(Problem::new(dotted, unknown_key_message::<C>(t, key)).at(loc));
            }
            if segs.len() > 2 {
                return Err(Problem::new(
                    dotted,
                    format!(
                        "`{t}.{key}` has no sub-keys; it takes {}",
                        key_info(&format!("{t}.{key}")).unwrap().expects
                    ),
                )
                .at(loc));
            }
        }
        [t, ..] => {
            return Err(Problem::new(
                dotted.clone(),
                format!(
                    "unknown key `{dotted}`: there is no table [{t}]; valid tables: {valid_tables}{}",
                    suggest_top::<C>(t)
                ),
            )
            .at(loc))
        }
        [] => unreachable!("split yields at least one piece"),
    }
    let v = v.trim();
    let value = match toml::from_str::<Table>(&format!("v = {v}\n")) {
        Ok(mut t) if t.len() == 1 => t.remove("v").unwrap_or_else(|| Value::String(v.to_string())),
        _ => Value::String(v.to_string()),
    };
    Ok((segs[0].to_string(), segs[1].to_string(), value))
}

fn dotted_list(table: &str, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("{table}.{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_key_message<C: Schema>(table: &str, key: &str) -> String {
    let keys = keys_in(C::KEYS, table);
    let mut m = format!(
        "unknown key `{table}.{key}`; valid keys in [{table}]: {}",
        keys.join(", ")
    );
    if let Some(best) = keys
        .iter()
        .filter(|k| edit_distance(k, key) <= 2)
        .min_by_key(|k| edit_distance(k, key))
    {
        m.push_str(&format!(" (did you mean `{table}.{best}`?)"));
    } else if let Some(info) = C::KEYS.iter().find(|i| i.key == key) {
        m.push_str(&format!(" (`{key}` belongs in [{}]: `{}`)", info.table, info.dotted()));
    }
    m
}

/// Suggestion for an unknown top-level name: a close table name, or the table a same-named key lives in.
fn suggest_top<C: Schema>(name: &str) -> String {
    if let Some((_, hint)) = C::FOREIGN_TABLES.iter().find(|(t, _)| *t == name) {
        return format!(" ({hint})");
    }
    if let Some(t) = tables_in(C::KEYS)
        .into_iter()
        .filter(|t| edit_distance(t, name) <= 2)
        .min_by_key(|t| edit_distance(t, name))
    {
        return format!(" (did you mean [{t}]?)");
    }
    if let Some(info) = C::KEYS.iter().find(|i| i.key == name) {
        return format!(
            " (`{name}` is a key of [{}]: write it under the [{}] header, i.e. `{}`)",
            info.table,
            info.table,
            info.dotted()
        );
    }
    String::new()
}

/// The human message for one deserialisation error at the dotted path `segs`.
fn describe<C: Schema>(segs: &[String], full_path: &str, message: &str, unknown: bool) -> String {
    let (tables, keys_of, key_info) = (|| tables_in(C::KEYS), |t: &str| keys_in(C::KEYS, t), |d: &str| key_info_in(C::KEYS, d));
    match segs {
        [t] if unknown => {
            format!(
                "unknown table `{t}`; valid tables: {}{}",
                tables().join(", "),
                suggest_top::<C>(t)
            )
        }
        [t, k] if unknown => unknown_key_message::<C>(t, k),
        [t] => format!(
            "`{t}` must be a table ([{t}] with keys {}); {}",
            keys_of(t).join(", "),
            strip_expected(message)
        ),
        _ => {
            let dotted = segs.join(".");
            let expects = key_info(&dotted).map(|i| i.expects).unwrap_or("a different value");
            let what = if message.starts_with("unknown variant") {
                // serde: "unknown variant `x`, expected `a` or `b`"
                let v = message.split('`').nth(1).unwrap_or("?");
                format!("invalid value \"{v}\"")
            } else {
                strip_expected(message)
            };
            let at = if full_path != dotted {
                format!(" (at {full_path})")
            } else {
                String::new()
            };
            format!("{what}{at}; `{dotted}` takes {expects}")
        }
    }
}

/// serde's "invalid type: string \"x\", expected f64" → "invalid type: string \"x\"" (we say what is expected).
fn strip_expected(message: &str) -> String {
    match message.rfind(", expected") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Remove the entry at the dotted path from the table (the whole key, also for an error inside an array).
fn remove(table: &mut Table, segs: &[String]) -> bool {
    match segs {
        [] => false,
        [k] => table.remove(k).is_some(),
        [k, rest @ ..] => match table.get_mut(k) {
            Some(Value::Table(t)) => remove(t, rest),
            Some(_) => table.remove(k).is_some(),
            None => false,
        },
    }
}

/// Byte offset in the source of the key (`unknown`: the key itself) or value at `path`.
fn locate(root: &Spanned<DeTable<'_>>, path: &serde_path_to_error::Path, unknown: bool) -> Option<usize> {
    let segs: Vec<&Segment> = path.iter().collect();
    let mut table: &DeTable<'_> = root.get_ref();
    let mut last: Option<usize> = None;
    let mut i = 0;
    while i < segs.len() {
        let Segment::Map { key } = segs[i] else { break };
        let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key.as_str())?;
        if i + 1 == segs.len() && unknown {
            return Some(k.span().start);
        }
        last = Some(v.span().start);
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            DeValue::Array(a) => {
                if let Some(Segment::Seq { index }) = segs.get(i + 1) {
                    if let Some(el) = a.get(*index) {
                        return Some(el.span().start);
                    }
                }
                return last;
            }
            _ => return last,
        }
        i += 1;
    }
    last
}

/// `origin:line:col` (1-based) of a byte offset.
fn position(origin: &str, text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    format!("{origin}:{line}:{col}")
}

fn syntax_error(origin: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let mut s = String::from("invalid TOML");
    if let Some(span) = e.span() {
        s = format!("{}: invalid TOML", position(origin, text, span.start));
        let line_no = text[..span.start.min(text.len())].matches('\n').count();
        if let Some(line) = text.lines().nth(line_no) {
            s.push_str(&format!("\n  | {line}"));
        }
    } else {
        s = format!("{origin}: {s}");
    }
    s.push_str(&format!("\n  {}", e.message().trim()));
    ConfigError::Syntax(s)
}

/// Levenshtein distance (for "did you mean" suggestions).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, sets: &[&str]) -> Result<LoadedConfig, ConfigError> {
        let dir = std::env::temp_dir().join(format!("cqgrav-load-{}-{}", std::process::id(), unique_suffix(text)));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(&p, text).unwrap();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let r = load(Some(&p), &sets);
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    fn unique_suffix(text: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        std::thread::current().id().hash(&mut h);
        h.finish()
    }

    #[test]
    fn default_example_loads_and_round_trips() {
        let l = load(None, &[]).unwrap();
        let again: Config = toml::from_str(&l.text).unwrap();
        assert_eq!(again, l.config);
    }

    #[test]
    fn set_overrides() {
        let l = load(
            None,
            &[
                "lattice.shape=[8,9,10]".into(),
                "run.backend=cpu".into(),
                "time.courant = 0.125".into(),
                "output.file=\"x.h5\"".into(),
            ],
        )
        .unwrap();
        assert_eq!(l.config.lattice.shape, [8, 9, 10]);
        assert_eq!(l.config.run.backend, crate::config::BackendChoice::Cpu);
        assert_eq!(l.config.time.courant, 0.125);
        assert_eq!(l.config.output.file, std::path::PathBuf::from("x.h5"));
        assert!(l.text.contains("# --set run.backend=cpu"));
    }

    #[test]
    fn unknown_key_names_path_line_and_alternatives() {
        let e = load_str("[lattice]\nshape = [8, 8, 8]\nshapee = 3\n", &[]).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("lattice.shapee"), "{s}");
        assert!(s.contains("shape, spacing"), "{s}");
        assert!(s.contains("c.toml:3:1"), "{s}");
        assert!(s.contains("did you mean `lattice.shape`"), "{s}");
    }

    #[test]
    fn all_errors_collected() {
        let e = load_str(
            "[lattice]\nspacing = \"x\"\nfoo = 1\n[gauge]\nlapse = \"maximal\"\n[bar]\n",
            &["cq.nope=1"],
        )
        .unwrap_err();
        let lines = e.lines();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        let s = e.to_string();
        for want in [
            "lattice.spacing",
            "lattice.foo",
            "gauge.lapse",
            "\"geodesic\", \"harmonic\", \"one-plus-log\"",
            "bar",
            "cq.nope",
            "c.toml:2:11",
        ] {
            assert!(s.contains(want), "missing {want} in {s}");
        }
    }

    #[test]
    fn wrong_type_inside_array() {
        let e = load_str("[lattice]\nshape = [8, \"x\", 8]\n", &[]).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("lattice.shape"), "{s}");
        assert!(s.contains("lattice.shape[1]"), "{s}");
        assert!(s.contains("c.toml:2:13"), "{s}");
    }

    #[test]
    fn set_errors() {
        for (arg, want) in [
            ("lattice.shapee=[8,8,8]", "lattice.shapee"),
            ("latice.shape=1", "did you mean [lattice]"),
            ("lattice=1", "is a table"),
            ("noequals", "KEY=VALUE"),
            ("lattice.shape.x=1", "no sub-keys"),
        ] {
            let e = load(None, &[arg.to_string()]).unwrap_err().to_string();
            assert!(e.contains(want), "{arg}: {e}");
        }
        // wrong type through --set names the key and the --set argument
        let e = load(None, &["lattice.spacing=abc".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lattice.spacing") && e.contains("--set lattice.spacing=abc"),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_has_position() {
        let e = load_str("[lattice]\nshape = [8, 8\n", &[]).unwrap_err().to_string();
        assert!(e.contains("c.toml:"), "{e}");
    }

    #[test]
    fn both_dt_and_courant_warns() {
        let l = load_str("[time]\ndt = 0.01\ncourant = 0.3\n", &[]).unwrap();
        assert!(
            l.warnings.iter().any(|w| w.contains("time.courant")),
            "{:?}",
            l.warnings
        );
    }
}
