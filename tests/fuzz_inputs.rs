//! Issue 15 acceptance 4: a fuzz test of the inputs a user hands cqgrav — configurations and checkpoints — with
//! well over 500 inputs, run in CI within a minute. Every input goes through the real binary and must:
//! - not panic (exit status 0 or 1, no "panicked") and not hang (killed after a timeout);
//! - when refused, name what is wrong: the mutated key (`table.key`), the attribute or dataset of a
//!   checkpoint, or the file;
//! - when refused, change nothing on disk (every file of the directory compared byte for byte).
//!
//! Configurations: the shipped examples with one key set to a value of the wrong type, NaN, ±inf, huge, tiny,
//! negative, zero, an array or table, and structural damage (missing or non-table sections, unknown keys,
//! duplicate keys, truncation, garbage bytes, non-UTF-8, deep nesting, huge files), through `cqgrav check` on a
//! file and with `--set`, and a sample through `cqgrav run`. Checkpoints: a real run's checkpoint with each
//! attribute removed or given a wrong type or value, each dataset removed, reshaped, retyped or filled with NaN,
//! and the whole file replaced by garbage, truncated, emptied, a directory or a FIFO — through
//! `cqgrav run --restart`. The mutations are drawn by a fixed-seed generator, so a failure reproduces.
mod common;
use common::Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cqgrav");
const TIMEOUT: Duration = Duration::from_secs(20);

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            } else {
                out.insert(p.clone(), b"(special file)".to_vec());
            }
        }
    }
    out
}

/// Runs `cqgrav args` in `dir` with a timeout: (exit code, stdout + stderr).
fn cqgrav(dir: &Path, args: &[String]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NODEVICE_SELECT", "1")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return (None, format!("HANG: `cqgrav {}` ran for more than {TIMEOUT:?}", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// One fuzz input: the command, the directory it runs in, and what a refusal must name (any of them).
struct Case {
    label: String,
    dir: PathBuf,
    args: Vec<String>,
    names: Vec<String>,
    /// a refusal is expected (the mutation is invalid by construction)
    must_refuse: bool,
}

/// Runs the cases on two threads; returns the failures.
fn run_cases(cases: Vec<Case>) -> Vec<String> {
    let failures = Mutex::new(Vec::new());
    let queue = Mutex::new(cases);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(c) = queue.lock().unwrap().pop() else { return };
                let before = files(&c.dir);
                let (code, text) = cqgrav(&c.dir, &c.args);
                let mut bad = Vec::new();
                match code {
                    None => bad.push("hangs".to_string()),
                    Some(0) if c.must_refuse => bad.push("accepted an invalid input".into()),
                    Some(0) => {}
                    Some(1) => {
                        if !c.names.iter().any(|n| text.contains(n.as_str())) {
                            bad.push(format!("the refusal names none of {:?}", c.names));
                        }
                        if files(&c.dir) != before {
                            bad.push("a refused command changed files on disk".into());
                        }
                    }
                    Some(k) => bad.push(format!("exit status {k}")),
                }
                if text.contains("panicked") {
                    bad.push("panicked".into());
                }
                if !bad.is_empty() {
                    let msg: String = text.lines().take(8).collect::<Vec<_>>().join("\n      ");
                    failures.lock().unwrap().push(format!("{}: {}\n      {msg}", c.label, bad.join(", ")));
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Values that are wrong for most keys (or extreme for the rest), as TOML.
const VALUES: &[&str] = &[
    "\"x\"", "\"\"", "true", "nan", "inf", "-inf", "-1", "0", "-0.0", "1e308", "-1e308", "1e-320", "9223372036854775807",
    "-9223372036854775808", "4294967296", "[]", "[1, 2]", "[1e20, 1, 1]", "[-8, 8, 8]", "[0, 0, 0]", "[100000, 100000, 100000]",
    "{ a = 1 }", "2.5", "1e18", "\"../../x\"", "[\"a\", \"b\", \"c\"]",
];

fn schema_keys() -> Vec<String> {
    cqgrav::config::KEYS.iter().map(|k| k.dotted()).collect()
}

/// `base` (TOML) with `key` set to `value` (a TOML value), as text.
fn with_value(base: &str, key: &str, value: &str) -> String {
    let mut t: toml::Table = toml::from_str(base).unwrap();
    let (table, k) = key.split_once('.').unwrap();
    let v: toml::Table = toml::from_str(&format!("v = {value}")).unwrap();
    let entry = t.entry(table.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    entry.as_table_mut().unwrap().insert(k.to_string(), v["v"].clone());
    toml::to_string(&t).unwrap()
}

fn examples() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut v = vec![("default".to_string(), std::fs::read_to_string(dir.join("default.toml")).unwrap())];
    for name in ["minkowski", "linear-wave", "gauge-wave", "frw", "dense_frw"] {
        v.push((name.to_string(), std::fs::read_to_string(dir.join(format!("examples/{name}.toml"))).unwrap()));
    }
    v
}

fn config_cases(dir: &Path, rng: &mut Rng) -> Vec<Case> {
    let keys = schema_keys();
    let bases = examples();
    let mut cases = Vec::new();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // one key, one bad value: in a file (`check FILE`) or with --set (`check FILE --set key=value`)
    for i in 0..440 {
        let (bname, base) = rng.pick(&bases);
        let key = rng.pick(&keys).clone();
        let value = *rng.pick(VALUES);
        let sub = dir.join(format!("v{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let (args, label) = if i % 2 == 0 {
            std::fs::write(sub.join("v.toml"), with_value(base, &key, value)).unwrap();
            (s(&["check", "v.toml"]), format!("check {bname} with {key} = {value} in the file"))
        } else {
            std::fs::write(sub.join("v.toml"), base).unwrap();
            (vec!["check".into(), "v.toml".into(), "--set".into(), format!("{key}={value}")], format!("check {bname} --set {key}={value}"))
        };
        cases.push(Case { label, dir: sub, args, names: vec![key], must_refuse: false });
    }
    // structural damage
    let (_, base) = &bases[0];
    let mut structural: Vec<(String, Vec<u8>, Vec<String>)> = vec![
        ("missing [lattice]".into(), base.replace("[lattice]", "").into_bytes(), vec![]),
        ("lattice = 3".into(), format!("lattice = 3\n{}", base.replace("[lattice]", "[lattice_]")).into_bytes(), s(&["lattice"])),
        ("unknown key".into(), base.replace("[gauge]", "[gauge]\nlaspe = 1").into_bytes(), s(&["gauge.laspe"])),
        ("unknown table".into(), format!("{base}\n[extra]\na = 1\n").into_bytes(), s(&["extra"])),
        ("duplicate key".into(), base.replace("[gauge]", "[gauge]\nlapse = \"harmonic\"").into_bytes(), s(&["v.toml", "invalid TOML"])),
        ("duplicate table".into(), format!("{base}\n[lattice]\n").into_bytes(), s(&["invalid TOML"])),
        ("empty".into(), Vec::new(), vec![]),
        ("garbage".into(), (0..4000).map(|_| (rng.next() & 0xff) as u8).collect(), s(&["v.toml"])),
        ("not UTF-8".into(), [base.as_bytes(), &[0xff, 0xfe, 0x00]].concat(), s(&["v.toml"])),
        ("deep nesting".into(), format!("[lattice]\nshape = {}1{}\n", "[".repeat(20000), "]".repeat(20000)).into_bytes(), s(&["lattice.shape", "v.toml"])),
        ("deep inline tables".into(), format!("x = {}1{}\n", "{a = ".repeat(5000), "}".repeat(5000)).into_bytes(), s(&["v.toml", "x"])),
        ("2 MB".into(), format!("{base}\n{}", "#".repeat(2 << 20)).into_bytes(), s(&["v.toml", "bytes"])),
        ("long string".into(), format!("{base}\n[output]\nfile = \"{}\"\n", "a".repeat(500_000)).into_bytes(), s(&["output", "v.toml"])),
        ("NUL".into(), b"[lattice]\nshape = [8,8,8]\0\n".to_vec(), s(&["v.toml"])),
    ];
    for cut in [1usize, 10, 100, 400, 700] {
        structural.push((format!("truncated at {cut}"), base.as_bytes()[..cut.min(base.len())].to_vec(), vec![]));
    }
    for (i, (label, bytes, mut names)) in structural.into_iter().enumerate() {
        let sub = dir.join(format!("s{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("v.toml"), bytes).unwrap();
        names.extend(schema_keys());
        names.push("v.toml".into());
        cases.push(Case { label: format!("check: {label}"), dir: sub, args: s(&["check", "v.toml"]), names, must_refuse: false });
    }
    // not files: a device, a directory, a FIFO, a missing file
    let fifo = dir.join("fifo").join("fifo.toml");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for p in ["/dev/zero".to_string(), "/dev/null".into(), fifo.parent().unwrap().display().to_string(), fifo.display().to_string(), "/nonexistent.toml".into()] {
        for cmd in ["check", "run"] {
            let sub = dir.join(format!("dev{}", cases.len()));
            std::fs::create_dir_all(&sub).unwrap();
            cases.push(Case { label: format!("{cmd} {p}"), dir: sub, args: vec![cmd.into(), p.clone()], names: vec![p.clone()], must_refuse: true });
        }
    }
    // a sample through `run` (single site, one step): refused without writing anything, or runs
    let run_base = "[lattice]\nshape = [1, 1, 1]\nspacing = 1.0\n[time]\ndt = 0.01\nsteps = 2\n[initial]\nkind = \"frw\"\nphi = 1.0\n[run]\nbackend = \"cpu\"\n";
    for i in 0..40 {
        let key = rng.pick(&keys).clone();
        let value = *rng.pick(VALUES);
        let sub = dir.join(format!("run{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("v.toml"), with_value(run_base, &key, value)).unwrap();
        cases.push(Case {
            label: format!("run with {key} = {value}"),
            dir: sub,
            args: vec!["run".into(), "v.toml".into(), "--quiet".into(), "--set".into(), "run.backend=cpu".into()],
            names: vec![key],
            must_refuse: false,
        });
    }
    cases
}

/// A checkpoint mutation: what to do to the file, and what the refusal must name.
type Craft = Box<dyn Fn(&Path) + Send + Sync>;

fn replace_attr<T: hdf5::H5Type + Clone>(ck: &Path, name: &str, value: &[T]) {
    let f = hdf5::File::open_rw(ck).unwrap();
    let _ = f.delete_attr(name);
    if value.len() == 1 {
        f.new_attr::<T>().create(name).unwrap().write_scalar(&value[0]).unwrap();
    } else {
        f.new_attr_builder().with_data(value).create(name).unwrap();
    }
}

fn replace_str_attr(ck: &Path, name: &str, value: &str) {
    let f = hdf5::File::open_rw(ck).unwrap();
    let _ = f.delete_attr(name);
    let v: hdf5::types::VarLenUnicode = value.parse().unwrap();
    f.new_attr::<hdf5::types::VarLenUnicode>().create(name).unwrap().write_scalar(&v).unwrap();
}

fn replace_dataset(ck: &Path, name: &str, shape: &[usize], fill: f64) {
    let f = hdf5::File::open_rw(ck).unwrap();
    let _ = f.unlink(name);
    let n = shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b)).unwrap_or(usize::MAX);
    if n > 1 << 20 {
        // declared, never written: a reader must check the shape before reading
        f.new_dataset::<f64>().shape(shape).chunk(vec![1; shape.len()]).create(name).unwrap();
    } else {
        f.new_dataset::<f64>().shape(shape).create(name).unwrap().write_raw(&vec![fill; n]).unwrap();
    }
}

fn checkpoint_crafts() -> Vec<(String, Craft, Vec<&'static str>)> {
    let mut v: Vec<(String, Craft, Vec<&'static str>)> = Vec::new();
    let attrs = [
        "format", "format_version", "run_id", "step", "t", "dt", "precision", "seed", "config", "lattice_shape", "spacing",
        "variables", "history", "timeseries_rows",
    ];
    for a in attrs {
        v.push((format!("attribute {a} removed"), Box::new(move |ck: &Path| {
            hdf5::File::open_rw(ck).unwrap().delete_attr(a).unwrap();
        }), vec![a]));
        if a != "history" {
            // (any text is a valid history)
            v.push((format!("attribute {a} a string"), Box::new(move |ck: &Path| replace_str_attr(ck, a, "x")), vec![a]));
        }
        v.push((format!("attribute {a} = -5"), Box::new(move |ck: &Path| replace_attr(ck, a, &[-5i64])), vec![a]));
        v.push((format!("attribute {a} = NaN"), Box::new(move |ck: &Path| replace_attr(ck, a, &[f64::NAN])), vec![a]));
        v.push((format!("attribute {a} = [1, 2]"), Box::new(move |ck: &Path| replace_attr(ck, a, &[1u64, 2])), vec![a]));
    }
    for (a, val) in [("step", 1u64 << 60), ("step", 7), ("timeseries_rows", 0), ("timeseries_rows", 1000), ("format_version", 1), ("seed", 99)] {
        v.push((format!("attribute {a} = {val}"), Box::new(move |ck: &Path| replace_attr(ck, a, &[val])), vec![a, "seed"]));
    }
    for (a, val) in [("dt", 0.0), ("dt", 1e300), ("spacing", -1.0), ("spacing", 2.0), ("t", 1e9)] {
        v.push((format!("attribute {a} = {val}"), Box::new(move |ck: &Path| replace_attr(ck, a, &[val])), vec![a, "spacing"]));
    }
    for (a, val) in [("lattice_shape", vec![7u64, 7, 7]), ("lattice_shape", vec![0, 1, 1]), ("lattice_shape", vec![1u64 << 40, 1, 1]), ("lattice_shape", vec![1, 1])] {
        v.push((format!("attribute {a} = {val:?}"), Box::new(move |ck: &Path| replace_attr(ck, a, &val)), vec![a]));
    }
    for (a, val) in [("precision", "f16"), ("run_id", "0000000000000000"), ("run_id", "../../etc"), ("format", "cqgrav-output"), ("variables", "a,b"), ("config", "[lattice]\nshape = [1, 1, 1]\nspacing = 3.0\n")] {
        v.push((format!("attribute {a} = {val:?}"), Box::new(move |ck: &Path| replace_str_attr(ck, a, val)), vec![a, "spacing"]));
    }
    let datasets: [(&str, Vec<usize>); 5] =
        [("data", vec![15, 1, 1, 1]), ("background", vec![6]), ("snapshot_steps", vec![4]), ("snapshot_times", vec![4]), ("gamma", vec![2, 2])];
    for (d, good) in datasets {
        if d != "gamma" {
            v.push((format!("dataset {d} removed"), Box::new(move |ck: &Path| hdf5::File::open_rw(ck).unwrap().unlink(d).unwrap()), vec![d]));
        }
        let bigger: Vec<usize> = good.iter().map(|n| n + 1).collect();
        v.push((format!("dataset {d} reshaped"), Box::new(move |ck: &Path| replace_dataset(ck, d, &bigger, 1.0)), vec![d]));
        let g = good.clone();
        v.push((format!("dataset {d} NaN"), Box::new(move |ck: &Path| replace_dataset(ck, d, &g, f64::NAN)), vec![d, "non-finite"]));
        // about 2^40 values (8 TiB): declared only
        let huge: Vec<usize> = good.iter().map(|_| 1usize << (40 / good.len())).collect();
        v.push((format!("dataset {d} huge"), Box::new(move |ck: &Path| replace_dataset(ck, d, &huge, 0.0)), vec![d]));
    }
    v.push(("dataset data of integers".into(), Box::new(|ck: &Path| {
        let f = hdf5::File::open_rw(ck).unwrap();
        f.unlink("data").unwrap();
        f.new_dataset::<i32>().shape([15, 1, 1, 1]).create("data").unwrap().write_raw(&[1i32; 15]).unwrap();
    }), vec!["data"]));
    v.push(("dataset data with a negative lapse".into(), Box::new(|ck: &Path| {
        let f = hdf5::File::open_rw(ck).unwrap();
        let mut x = f.dataset("data").unwrap().read_raw::<f64>().unwrap();
        x[12] = -1.0;
        f.dataset("data").unwrap().write_raw(&x).unwrap();
    }), vec!["data", "lapse"]));
    let ck_file = |label: &str, f: fn(&Path)| -> (String, Craft, Vec<&'static str>) { (label.to_string(), Box::new(f), vec!["checkpoint", "checkpoint.h5"]) };
    v.push(ck_file("checkpoint truncated", |ck| {
        let b = std::fs::read(ck).unwrap();
        std::fs::write(ck, &b[..b.len() / 2]).unwrap();
    }));
    v.push(ck_file("checkpoint empty", |ck| std::fs::write(ck, b"").unwrap()));
    v.push(ck_file("checkpoint garbage", |ck| std::fs::write(ck, vec![0x5a; 5000]).unwrap()));
    v.push(ck_file("checkpoint a directory", |ck| {
        std::fs::remove_file(ck).unwrap();
        std::fs::create_dir(ck).unwrap();
    }));
    v.push(ck_file("checkpoint a FIFO", |ck| {
        std::fs::remove_file(ck).unwrap();
        assert!(Command::new("mkfifo").arg(ck).status().unwrap().success());
    }));
    v.push(ck_file("checkpoint the main file", |ck| {
        let main = ck.parent().unwrap().parent().unwrap().join("run.h5");
        std::fs::copy(main, ck).unwrap();
    }));
    v.push(("main file garbage".into(), Box::new(|ck: &Path| {
        std::fs::write(ck.parent().unwrap().parent().unwrap().join("run.h5"), vec![7u8; 3000]).unwrap();
    }), vec!["run.h5"]));
    v.push(("main file of another run".into(), Box::new(|ck: &Path| {
        let main = ck.parent().unwrap().parent().unwrap().join("run.h5");
        let f = hdf5::File::open_rw(&main).unwrap();
        f.delete_attr("run_id").unwrap();
        let v: hdf5::types::VarLenUnicode = "00000000000000aa".parse().unwrap();
        f.new_attr::<hdf5::types::VarLenUnicode>().create("run_id").unwrap().write_scalar(&v).unwrap();
    }), vec!["run_id"]));
    v.push(("segments missing".into(), Box::new(|ck: &Path| {
        for e in std::fs::read_dir(ck.parent().unwrap()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("timeseries_") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
    }), vec!["rows"]));
    v
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn checkpoint_cases(dir: &Path) -> Vec<Case> {
    // the base output: FRW on one site, snapshots and checkpoints
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(
        base.join("c.toml"),
        "[lattice]\nshape = [1, 1, 1]\nspacing = 1.0\n[time]\ndt = 0.01\nsteps = 20\n[initial]\nkind = \"frw\"\nphi = 1.0\n\
         [output]\nfile = \"run.h5\"\nsnapshot_every = 5\ncheckpoint_every = 10\n[run]\nbackend = \"cpu\"\n",
    )
    .unwrap();
    let (code, text) = cqgrav(&base, &["run".into(), "c.toml".into(), "--quiet".into()]);
    assert_eq!(code, Some(0), "{text}");
    let mut cases = Vec::new();
    for (i, (label, craft, names)) in checkpoint_crafts().into_iter().enumerate() {
        let sub = dir.join(format!("ck{i}"));
        copy_dir(&base, &sub);
        craft(&sub.join("run.h5.d/checkpoint.h5"));
        cases.push(Case {
            label: format!("restart with {label}"),
            dir: sub,
            args: ["run", "--quiet", "--restart", "run.h5", "--set", "time.steps=40"].map(String::from).to_vec(),
            names: names.into_iter().map(String::from).collect(),
            must_refuse: true,
        });
    }
    cases
}

#[test]
fn fuzzed_configs_and_checkpoints_are_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let t = Instant::now();
    let mut cases = config_cases(dir.path(), &mut rng);
    let n_config = cases.len();
    cases.extend(checkpoint_cases(dir.path()));
    let n = cases.len();
    let failures = run_cases(cases);
    let wall = t.elapsed();
    println!("{n} inputs ({n_config} configurations, {} checkpoints) in {:.1} s", n - n_config, wall.as_secs_f64());
    assert!(n >= 500, "only {n} inputs");
    assert!(failures.is_empty(), "{} of {n} inputs failed:\n  {}", failures.len(), failures.join("\n  "));
}
