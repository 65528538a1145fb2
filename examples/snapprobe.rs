use cqgrav::io::SnapshotData;
use cqgrav::config::Precision;
use std::time::Instant;
fn cpu() -> f64 { let s = std::fs::read_to_string("/proc/self/stat").unwrap(); let f: Vec<&str> = s.split_whitespace().collect(); (f[13].parse::<f64>().unwrap() + f[14].parse::<f64>().unwrap()) / 100.0 }
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let cfg = cqgrav::config::load(None, &["lattice.shape=[1,1,1]".into()]).unwrap().config;
    let st = cqgrav::physics::initial_data::initial_state(&cfg);
    let cf = cqgrav::diagnostics::ConstraintFields { ham: vec![0.0], mom: [vec![0.0], vec![0.0], vec![0.0]] };
    let snap = SnapshotData::from_state(&st, &cf, None);
    for core in [false, true] {
        let (t, c) = (Instant::now(), cpu());
        for i in 0..300 {
            let p = std::path::Path::new(&dir).join(format!("s{i}.h5"));
            if core {
                let f = hdf5::File::with_options().with_fapl(|p| p.core_filebacked(true)).create(&p).unwrap();
                drop(f);
            } else {
                snap.write(&p, 0.1, Precision::F64, "0123456789abcdef").unwrap();
            }
        }
        println!("{dir} core={core}: {:.3} ms wall, {:.3} ms cpu per file", t.elapsed().as_secs_f64() / 0.3, (cpu() - c) / 0.3 * 1.0);
    }
}
