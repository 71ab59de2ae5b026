//! The capture plan: rings of target views around the object at a few heights. Azimuth cannot
//! be read from the browser reliably, so each kept photo fills the next slot of the ring the
//! person says they are on, and they walk around the object as the slots fill.

/// Camera heights of the rings, low to high.
pub const HEIGHTS: [&str; 3] = ["Low", "Middle", "High"];
/// Target views per ring (every 30°).
pub const PER_RING: usize = 12;
/// Views needed before a reconstruction can start (the server's minimum).
pub const MIN_VIEWS: usize = 8;

/// Filled slots per ring, given the ring of every kept photo.
pub fn filled(rings: impl IntoIterator<Item = usize>) -> [usize; HEIGHTS.len()] {
    let mut counts = [0; HEIGHTS.len()];
    for ring in rings {
        if let Some(c) = counts.get_mut(ring) {
            *c = (*c + 1).min(PER_RING);
        }
    }
    counts
}

/// Share of all target slots filled, in [0, 1].
pub fn coverage(counts: &[usize; HEIGHTS.len()]) -> f64 {
    counts.iter().sum::<usize>() as f64 / (PER_RING * HEIGHTS.len()) as f64
}
