//! The XDMF sidecar `<file>.xdmf` (SPEC §7 names it `.xmf`; `.xdmf` is the extension every reader maps, pyvista
//! included): a temporal collection with one 3-D rectilinear grid per snapshot, so ParaView, VisIt and pyvista
//! open the snapshots as a time series. It references the snapshot FILES directly (relative paths), not the
//! main file's external links.
//!
//! XDMF lists dimensions slowest first, (N3 N2 N1) = (z, y, x), like the HDF5 arrays; ORIGIN_DXDYDZ is given
//! in the same (z, y, x) order. Sites are grid nodes at x = i·h. Tensor and vector components are selected
//! from the (6|3, N3, N2, N1) datasets with HyperSlab data items; `g`, `pi` (Tensor6, order xx xy xz yy yz zz,
//! as XDMF's) and `mom` (Vector) are also given whole, joined from their components (read directly on a single
//! site). Lattices with directions of one site (1-D, 2-D, one site) are 3-D grids with extent 1 there.
use super::snapshot::SnapshotInfo;
use super::OutputPaths;
use crate::config::Precision;
use std::fmt::Write as _;

const TENSOR: [&str; 6] = ["xx", "xy", "xz", "yy", "yz", "zz"];
const VECTOR: [&str; 3] = ["x", "y", "z"];
/// Scalar fields of a snapshot shown as node attributes.
const SCALARS: [&str; 5] = ["lapse", "phi", "pi_phi", "phi2", "ham"];

/// The XDMF text for the snapshots `snaps` of the output `paths`.
pub fn xdmf(paths: &OutputPaths, shape: [usize; 3], spacing: f64, precision: Precision, snaps: &[SnapshotInfo]) -> String {
    let [n1, n2, n3] = shape;
    let dims = format!("{n3} {n2} {n1}");
    let prec = match precision {
        Precision::F32 => 4,
        Precision::F64 => 8,
    };
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n");
    x.push_str("<!-- cqgrav snapshots (docs/output.md); written by cqgrav, rewritten at each flush -->\n");
    x.push_str("<Xdmf Version=\"3.0\">\n <Domain>\n");
    x.push_str("  <Grid Name=\"cqgrav\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
    for s in snaps {
        let file = xml_escape(&paths.snapshot_rel(s.step));
        let hdf = |name: &str, d: &str| {
            format!("<DataItem Dimensions=\"{d}\" NumberType=\"Float\" Precision=\"{prec}\" Format=\"HDF\">{file}:/{name}</DataItem>")
        };
        let slab = |name: &str, ncomp: usize, k: usize| {
            format!(
                "<DataItem ItemType=\"HyperSlab\" Dimensions=\"{dims}\" Type=\"HyperSlab\">\
                 <DataItem Dimensions=\"3 4\" Format=\"XML\">{k} 0 0 0 1 1 1 1 1 {dims}</DataItem>{}</DataItem>",
                hdf(name, &format!("{ncomp} {dims}"))
            )
        };
        let _ = writeln!(x, "   <Grid Name=\"{}\" GridType=\"Uniform\">", OutputPaths::snapshot_group_name(s.step));
        let _ = writeln!(x, "    <Time Value=\"{:e}\"/>", s.t);
        let _ = writeln!(x, "    <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"{dims}\"/>");
        let _ = writeln!(x, "    <Geometry GeometryType=\"ORIGIN_DXDYDZ\">");
        let _ = writeln!(x, "     <DataItem Dimensions=\"3\" NumberType=\"Float\" Precision=\"8\" Format=\"XML\">0 0 0</DataItem>");
        let _ = writeln!(
            x,
            "     <DataItem Dimensions=\"3\" NumberType=\"Float\" Precision=\"8\" Format=\"XML\">{spacing:e} {spacing:e} {spacing:e}</DataItem>"
        );
        let _ = writeln!(x, "    </Geometry>");
        for name in SCALARS {
            let _ = writeln!(x, "    <Attribute Name=\"{name}\" AttributeType=\"Scalar\" Center=\"Node\">{}</Attribute>", hdf(name, &dims));
        }
        for (name, comps, kind) in [("g", &TENSOR[..], "Tensor6"), ("pi", &TENSOR[..], "Tensor6"), ("mom", &VECTOR[..], "Vector")] {
            let n = comps.len();
            for (k, c) in comps.iter().enumerate() {
                let _ = writeln!(
                    x,
                    "    <Attribute Name=\"{name}_{c}\" AttributeType=\"Scalar\" Center=\"Node\">{}</Attribute>",
                    slab(name, n, k)
                );
            }
            // the whole tensor, components last as XDMF wants: JOIN of the components — except on a single site,
            // where XDMF 2 inlines one-element arrays as numbers and its JOIN parser fails (VTK crashes), and
            // where the dataset's C order is already (site, component)
            let whole = if shape.iter().product::<usize>() == 1 {
                hdf(name, &format!("{dims} {n}"))
            } else {
                let args: Vec<String> = (0..n).map(|k| format!("${k}")).collect();
                format!(
                    "<DataItem ItemType=\"Function\" Function=\"JOIN({})\" Dimensions=\"{dims} {n}\">{}</DataItem>",
                    args.join(", "),
                    (0..n).map(|k| slab(name, n, k)).collect::<String>()
                )
            };
            let _ = writeln!(x, "    <Attribute Name=\"{name}\" AttributeType=\"{kind}\" Center=\"Node\">{whole}</Attribute>");
        }
        let _ = writeln!(x, "   </Grid>");
    }
    x.push_str("  </Grid>\n </Domain>\n</Xdmf>\n");
    x
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_grid_per_snapshot() {
        let p = OutputPaths::new(std::path::Path::new("dir/run.h5"));
        let snaps = [SnapshotInfo { step: 0, t: 0.0 }, SnapshotInfo { step: 10, t: 0.5 }];
        let x = xdmf(&p, [8, 4, 2], 0.1, Precision::F32, &snaps);
        assert_eq!(x.matches("<Grid Name=\"0000").count(), 2);
        assert!(x.contains("Dimensions=\"2 4 8\""));
        assert!(x.contains("run.h5.d/snapshot_000010.h5:/g"));
        assert!(x.contains("Precision=\"4\" Format=\"HDF\""));
        assert!(x.contains("<Time Value=\"5e-1\"/>"));
    }
}
