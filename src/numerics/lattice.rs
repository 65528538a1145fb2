//! Periodic lattice geometry (SPEC §1): N1×N2×N3 sites, spacing h, linear index x + N1·(y + N2·z).

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lattice {
    pub shape: [usize; 3],
    pub spacing: f64,
}

impl Lattice {
    pub fn new(shape: [usize; 3], spacing: f64) -> Self {
        Self { shape, spacing }
    }
    pub fn sites(&self) -> usize {
        self.shape[0] * self.shape[1] * self.shape[2]
    }
    /// Cell volume ΔV = h³.
    pub fn cell_volume(&self) -> f64 {
        self.spacing.powi(3)
    }
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.shape[0] * (y + self.shape[1] * z)
    }
    pub fn coords(&self, i: usize) -> [usize; 3] {
        let [n1, n2, _] = self.shape;
        [i % n1, (i / n1) % n2, i / (n1 * n2)]
    }
    /// Linear index of the site displaced by `d` (periodic) along axis `axis` from site coordinates `c`.
    pub fn shifted(&self, c: [usize; 3], axis: usize, d: isize) -> usize {
        let mut c2 = c;
        let n = self.shape[axis] as isize;
        c2[axis] = ((c[axis] as isize + d).rem_euclid(n)) as usize;
        self.index(c2[0], c2[1], c2[2])
    }
    /// Coordinate position of a site (cell-vertex convention: x = i·h).
    pub fn position(&self, i: usize) -> [f64; 3] {
        let c = self.coords(i);
        [c[0] as f64 * self.spacing, c[1] as f64 * self.spacing, c[2] as f64 * self.spacing]
    }
    /// Box lengths L = N·h.
    pub fn box_lengths(&self) -> [f64; 3] {
        [self.shape[0] as f64 * self.spacing, self.shape[1] as f64 * self.spacing, self.shape[2] as f64 * self.spacing]
    }
    /// Number of directions with more than one site (the others are homogeneous).
    pub fn active_dims(&self) -> usize {
        self.shape.iter().filter(|&&n| n > 1).count()
    }
}

/// The global index of a lattice's site 0 and the number of sites of the global lattice: local site i is global
/// site (first + i) mod global (the CQ noise's Philox counter, SPEC §3). A whole lattice is
/// `{ first: 0, global: n }`; a z-slab of a domain-decomposed run (issue 18) starts at its lowest ghost plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteNumbering {
    pub first: usize,
    pub global: usize,
}

impl SiteNumbering {
    pub fn whole(n: usize) -> Self {
        Self { first: 0, global: n }
    }
    /// The global index of local site i.
    pub fn index(&self, i: usize) -> usize {
        (self.first + i) % self.global
    }
    /// The numbering of a lattice that starts `sites` sites earlier (periodically: a slab's ghost or halo planes
    /// below its first owned plane).
    pub fn before(self, sites: usize) -> Self {
        Self { first: (self.first + self.global - sites % self.global) % self.global, global: self.global }
    }
}
