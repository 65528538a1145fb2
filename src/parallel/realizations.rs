//! Realisations over ranks (`mpirun -np P cqgrav run CONFIG --realizations R`): job j (realisation j for
//! j < R, the semiclassical companion run for j = R) runs on rank j mod P, and every rank learns every job's
//! outcome. Each job is the same computation as in a serial run (its own seed and file), so the files and the
//! summary are bit for bit those of `--realizations R` on one process.
use super::Comm;

/// The rank that runs job `job`.
pub fn owner(job: u32, size: usize) -> usize {
    job as usize % size
}

/// The outcome of one job: `Ok(())` or the run's error with its causes.
pub type Outcome = (u32, Result<(), String>);

/// Every rank's outcomes, on every rank, sorted by job (a collective: it returns when every rank has run its
/// jobs, so their files are complete).
pub fn gather_outcomes(comm: &dyn Comm, local: &[Outcome]) -> Vec<Outcome> {
    let wire: Vec<(u32, Option<&str>)> = local.iter().map(|(j, r)| (*j, r.as_ref().err().map(String::as_str))).collect();
    let bytes = serde_json::to_vec(&wire).expect("outcomes serialise");
    let mut all: Vec<Outcome> = comm
        .all_gather_bytes(&bytes)
        .iter()
        .flat_map(|b| serde_json::from_slice::<Vec<(u32, Option<String>)>>(b).expect("outcomes from a rank of this run"))
        .map(|(j, e)| (j, e.map_or(Ok(()), Err)))
        .collect();
    all.sort_by_key(|o| o.0);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_robin_and_single_rank_gather() {
        assert_eq!((0..5).map(|j| owner(j, 2)).collect::<Vec<_>>(), [0, 1, 0, 1, 0]);
        let local = vec![(1, Err("stopped".to_string())), (0, Ok(()))];
        assert_eq!(gather_outcomes(&super::super::Single, &local), vec![(0, Ok(())), (1, Err("stopped".into()))]);
    }
}
