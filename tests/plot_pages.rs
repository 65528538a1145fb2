//! Issue 16 criterion 4: `cqgrav plot` writes the expected pages, each as SVG and PNG, for a quantum run with CQ
//! noise, a classical run and an ensemble of realisations: the files exist with the sizes of their layout, the
//! PNG is a real image of that size, the SVG declares the embedded font and carries the axis labels with their
//! units and the legend text (so the pages are text, not bitmaps of text). The pages themselves are shown in the
//! README (docs/figures/) and were looked at.
mod common;
use std::path::Path;

/// (width, height) of a PNG file from its IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR", "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// Checks the pages `names` in `dir` and returns the SVG texts.
fn pages(dir: &Path, names: &[&str]) -> Vec<String> {
    let mut svgs = Vec::new();
    for name in names {
        let png = std::fs::read(dir.join(format!("{name}.png"))).unwrap_or_else(|e| panic!("{name}.png: {e}"));
        let (w, h) = png_size(&png);
        assert!(w >= 1500 && h >= 500 && png.len() > 30_000, "{name}.png: {w}×{h}, {} bytes", png.len());
        // (plotters writes each text element's content on its own line)
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap_or_else(|e| panic!("{name}.svg: {e}")).replace('\n', "");
        assert!(svg.contains(&format!("width=\"{w}\"")) && svg.contains(&format!("height=\"{h}\"")), "{name}.svg is not {w}×{h}");
        assert!(svg.contains("@font-face") && svg.contains("font-family=\"DejaVu Sans\""), "{name}.svg: the font is not embedded");
        assert!(svg.contains(">t  [L]<") && svg.contains("√(16π) ℓ_P"), "{name}.svg: no x label with units / units note");
        svgs.push(svg);
    }
    svgs
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn plot_pages_of_a_quantum_run_a_classical_run_and_an_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // the dense quantum field with CQ noise
    std::fs::write(d.join("q.toml"), common::DENSE_RUN).unwrap();
    let (ok, text) = common::cqgrav(d, &["run", "q.toml", "--quiet"]);
    assert!(ok, "{text}");
    let (ok, text) = common::cqgrav(d, &["plot", "run.h5", "--out", "q"]);
    assert!(ok, "{text}");
    let want = ["constraints", "energies", "expansion", "quantum"];
    let files: Vec<String> = want.iter().flat_map(|n| [format!("{n}.png"), format!("{n}.svg")]).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(listing(&d.join("q")), sorted);
    let svgs = pages(&d.join("q"), &want);
    let all = svgs.join("");
    for label in ["H = ⟨K⟩/3  [1/L]", "a = ⟨√g⟩^(1/3)", "⟨δφ²⟩ box mean  [1/L²]", "ν_min − 1", "realised / expected variance", "energy  [ħ/L]",
        "relative norm", "Hamiltonian ℋ", "fluctuations ⟨δφ²⟩", "expected (SPEC §3", "diffusion tensor)"] {
        assert!(all.contains(label), "no {label:?} in the pages");
    }
    // the log axis of the constraints starts after the step-0 round-off, which the legend names
    assert!(svgs[0].contains("below the axis, marked") && svgs[0].contains("by a triangle)"), "constraints page");

    // a classical run without noise: no quantum page
    std::fs::write(d.join("c.toml"), "[lattice]\nshape = [1, 1, 1]\nspacing = 1.0\n[time]\ndt = 0.05\nsteps = 20\n[initial]\nkind = \"frw\"\nphi = 1.0\n[output]\nfile = \"c.h5\"\n[run]\nbackend = \"cpu\"\n").unwrap();
    let (ok, text) = common::cqgrav(d, &["run", "c.toml", "--quiet"]);
    assert!(ok, "{text}");
    let (ok, text) = common::cqgrav(d, &["plot", "c.h5"]);
    assert!(ok, "{text}");
    assert_eq!(listing(&d.join("c.h5.plots")).len(), 6, "{:?}", listing(&d.join("c.h5.plots")));
    pages(&d.join("c.h5.plots"), &["expansion", "constraints", "energies"]);

    // an ensemble of 3 realisations: mean ± 1σ and the realisations
    let (ok, text) = common::cqgrav(d, &["run", "q.toml", "--quiet", "--realizations", "3", "--set", "output.file=\"e.h5\"", "--set", "output.snapshot_every=0"]);
    assert!(ok, "{text}");
    let (ok, plotted) = common::cqgrav(d, &["plot", "e_ensemble.h5", "--out", "e"]);
    assert!(ok, "{plotted}");
    let svgs = pages(&d.join("e"), &["ensemble_expansion", "ensemble_constraints", "ensemble_energies", "ensemble_quantum"]);
    assert!(svgs[0].contains("mean ± 1σ over 3 realisations") && svgs[0].contains(">realisations<") && svgs[0].contains("3 of 3 realisation files found"), "ensemble page");
    // with CQ noise the semiclassical companion run (cq.diffusion = 0) is drawn dashed and compared in the output
    assert!(svgs[0].contains("semiclassical (D2 = 0)"), "no semiclassical path on the ensemble page");
    assert!(text.contains("semiclassical (D2 = 0); (mean − semiclassical)/standard error"), "{text}");
}

/// The spectra page (issue 13) of a run with `output.spectra_every`: `cqgrav plot` writes `spectra.svg/.png`, and
/// its curves are the file's rows as read here with the hdf5 crate — x = log₁₀ k of the shells with k > 0, y the
/// stored S_j (phi) at the first and last rows, shells with S_j ≤ 1e-14 of the largest (round-off of zero) left out.
#[test]
fn spectra_page_draws_the_stored_spectra() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = common::DENSE_RUN.replace("[output]", "[output]\nspectra_every = 2");
    std::fs::write(d.join("s.toml"), text).unwrap();
    let (ok, out) = common::cqgrav(d, &["run", "s.toml", "--quiet"]);
    assert!(ok, "{out}");
    let (ok, out) = common::cqgrav(d, &["plot", "run.h5", "--out", "p"]);
    assert!(ok, "{out}");
    let svg = std::fs::read_to_string(d.join("p/spectra.svg")).unwrap().replace('\n', "");
    assert!(svg.contains("log₁₀ k") && svg.contains("S_j of δφ") && svg.contains("t = 0"), "spectra page text");
    assert!(std::fs::metadata(d.join("p/spectra.png")).unwrap().len() > 30_000);

    let f = cqgrav::io::OutputFile::open(&d.join("run.h5")).unwrap();
    let h = hdf5::File::open(&f.paths.main).unwrap();
    let k: Vec<f64> = h.dataset("spectra/k").unwrap().read_raw().unwrap();
    let phi = h.dataset("spectra/phi").unwrap().read_2d::<f64>().unwrap();
    let series = cqgrav::io::spectra::SpectraSeries::read(&h).unwrap().unwrap();
    let page = cqgrav::cli::plot::spectra_page(&series, "test").expect("a spectra page");
    let panel = page.panels.iter().find(|p| p.ylabel.starts_with("S_j of δφ")).expect("the δφ panel");
    let rows = phi.nrows();
    assert_eq!(rows, 5, "rows at steps 0, 2, 4, 6, 8");
    for (curve, row) in [(&panel.curves[0], 0), (panel.curves.last().unwrap(), rows - 1)] {
        let top = [0, 1, 2, 3, 4].iter().flat_map(|&r| phi.row(r).to_vec()).fold(0.0, f64::max);
        let want: Vec<(f64, f64)> =
            k.iter().zip(phi.row(row)).filter(|(k, v)| **k > 0.0 && **v > 1e-14 * top).map(|(k, v)| (k.log10(), *v)).collect();
        let got: Vec<(f64, f64)> = curve.x.iter().copied().zip(curve.y.iter().copied()).collect();
        assert!(!want.is_empty() && got == want, "row {row}: {got:?} vs {want:?}");
    }
}
