//! Binary mesh frames of the live socket: little-endian, versioned, compact enough that a
//! 100k-triangle mesh stays under 1 MB without a general-purpose compressor.
//!
//! Layout (version 1):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `MCMF` |
//! | 1 | version (1) |
//! | 1 | flags: bit 0 = per-vertex colour present |
//! | 1 | pass |
//! | 1 | reserved (0) |
//! | 4 | iteration (u32) |
//! | 4 | vertex count V (u32) |
//! | 4 | triangle count T (u32) |
//! | 24 | AABB min, max (f32 × 3 each) |
//! | 6 V | positions, u16 × 3 quantized in the AABB |
//! | 3 V | colours, sRGB u8 × 3 (when flagged) |
//! | 4 | length L of the index stream in bytes (u32) |
//! | L | indices: each the zig-zag LEB128 varint of its difference to the previous index |
//!
//! Hand-written rather than meshopt-coded: the decoder must run in the browser's wasm without a
//! C toolchain, and delta varints already bring a marching-tets mesh to ~1.3 bytes per index.

/// The four bytes every frame starts with.
pub const MAGIC: [u8; 4] = *b"MCMF";
/// The layout version this code writes and reads.
pub const VERSION: u8 = 1;
const HEADER_BYTES: usize = 4 + 4 + 12 + 24;
const FLAG_COLOURS: u8 = 1;

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshFrame {
    /// The pass it was taken in.
    pub pass: u8,
    /// The iteration it was taken at.
    pub iteration: u32,
    /// Axis-aligned bounds: min, max.
    pub aabb: [[f32; 3]; 2],
    /// Positions, dequantized (within 1/65535 of the AABB extent of the originals).
    pub positions: Vec<[f32; 3]>,
    /// Triangles.
    pub triangles: Vec<[u32; 3]>,
    /// Per-vertex sRGB colour, when the frame has it.
    pub colours: Option<Vec<[u8; 3]>>,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The magic bytes are wrong.
    #[error("not a mesh frame (bad magic)")]
    Magic,
    /// A version this code does not read.
    #[error("mesh frame version {0} is not supported (expected {VERSION})")]
    Version(u8),
    /// The bytes end before the counts say.
    #[error("mesh frame truncated: {0}")]
    Truncated(&'static str),
    /// An index points past the vertices or a varint is malformed.
    #[error("mesh frame corrupt: {0}")]
    Corrupt(&'static str),
}

/// Encodes a mesh. `colours`, when given, has one entry per position.
pub fn encode(
    pass: u8,
    iteration: u32,
    positions: &[[f32; 3]],
    triangles: &[[u32; 3]],
    colours: Option<&[[u8; 3]]>,
) -> Vec<u8> {
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for p in positions {
        for a in 0..3 {
            min[a] = min[a].min(p[a]);
            max[a] = max[a].max(p[a]);
        }
    }
    if positions.is_empty() {
        (min, max) = ([0.0; 3], [0.0; 3]);
    }
    let colours = colours.filter(|c| c.len() == positions.len());
    let mut out = Vec::with_capacity(HEADER_BYTES + 9 * positions.len() + 5 * triangles.len());
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(if colours.is_some() { FLAG_COLOURS } else { 0 });
    out.push(pass);
    out.push(0);
    out.extend_from_slice(&iteration.to_le_bytes());
    out.extend_from_slice(&(positions.len() as u32).to_le_bytes());
    out.extend_from_slice(&(triangles.len() as u32).to_le_bytes());
    for v in min.iter().chain(&max) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for p in positions {
        for a in 0..3 {
            let extent = max[a] - min[a];
            let t = if extent > 0.0 { (p[a] - min[a]) / extent } else { 0.0 };
            out.extend_from_slice(
                &((t * 65535.0).round().clamp(0.0, 65535.0) as u16).to_le_bytes(),
            );
        }
    }
    if let Some(colours) = colours {
        out.extend(colours.iter().flatten());
    }
    let length_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut previous = 0i64;
    for &index in triangles.iter().flatten() {
        let delta = i64::from(index) - previous;
        previous = i64::from(index);
        let mut zigzag = ((delta << 1) ^ (delta >> 63)) as u64;
        loop {
            let byte = (zigzag & 0x7f) as u8;
            zigzag >>= 7;
            if zigzag == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    let length = (out.len() - length_at - 4) as u32;
    out[length_at..length_at + 4].copy_from_slice(&length.to_le_bytes());
    out
}

/// A cursor that fails instead of panicking when the bytes run out.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
        if self.bytes.len() < n {
            return Err(FrameError::Truncated(what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, FrameError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self, what: &'static str) -> Result<f32, FrameError> {
        self.u32(what).map(f32::from_bits)
    }
}

/// Decodes a frame, checking every count and index against the bytes present.
pub fn decode(bytes: &[u8]) -> Result<MeshFrame, FrameError> {
    let mut r = Reader { bytes };
    if r.take(4, "magic")? != MAGIC {
        return Err(FrameError::Magic);
    }
    let head = r.take(4, "header")?;
    if head[0] != VERSION {
        return Err(FrameError::Version(head[0]));
    }
    let (flags, pass) = (head[1], head[2]);
    let iteration = r.u32("iteration")?;
    let vertex_count = r.u32("vertex count")? as usize;
    let triangle_count = r.u32("triangle count")? as usize;
    let mut aabb = [[0f32; 3]; 2];
    for corner in &mut aabb {
        for v in corner.iter_mut() {
            *v = r.f32("bounds")?;
        }
    }
    let quantized = r.take(
        vertex_count.checked_mul(6).ok_or(FrameError::Corrupt("vertex count"))?,
        "positions",
    )?;
    let scale: [f32; 3] = std::array::from_fn(|a| (aabb[1][a] - aabb[0][a]) / 65535.0);
    let positions = quantized
        .chunks_exact(6)
        .map(|c| {
            std::array::from_fn(|a| {
                let q = u16::from_le_bytes([c[2 * a], c[2 * a + 1]]);
                aabb[0][a] + f32::from(q) * scale[a]
            })
        })
        .collect();
    let colours = if flags & FLAG_COLOURS != 0 {
        let bytes = r.take(vertex_count * 3, "colours")?;
        Some(bytes.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
    } else {
        None
    };
    let length = r.u32("index stream length")? as usize;
    let stream = r.take(length, "indices")?;
    let mut triangles = Vec::with_capacity(triangle_count.min(stream.len() / 3));
    let (mut at, mut previous) = (0usize, 0i64);
    let mut next_index = || -> Result<u32, FrameError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *stream.get(at).ok_or(FrameError::Truncated("index stream"))?;
            at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                let delta = ((value >> 1) as i64) ^ -((value & 1) as i64);
                previous += delta;
                return u32::try_from(previous)
                    .ok()
                    .filter(|&i| (i as usize) < vertex_count)
                    .ok_or(FrameError::Corrupt("index out of range"));
            }
        }
        Err(FrameError::Corrupt("varint too long"))
    };
    for _ in 0..triangle_count {
        triangles.push([next_index()?, next_index()?, next_index()?]);
    }
    Ok(MeshFrame { pass, iteration, aabb, positions, triangles, colours })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_mesh(n: u32) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        let mut positions = Vec::new();
        let mut triangles = Vec::new();
        for y in 0..=n {
            for x in 0..=n {
                positions.push([
                    x as f32 / n as f32,
                    (x * y) as f32 / (n * n) as f32 - 0.5,
                    y as f32,
                ]);
            }
        }
        for y in 0..n {
            for x in 0..n {
                let i = y * (n + 1) + x;
                triangles.push([i, i + 1, i + n + 2]);
                triangles.push([i, i + n + 2, i + n + 1]);
            }
        }
        (positions, triangles)
    }

    #[test]
    fn round_trips_within_quantization() {
        let (positions, triangles) = grid_mesh(40);
        let colours: Vec<[u8; 3]> = (0..positions.len()).map(|i| [i as u8, 7, 200]).collect();
        let bytes = encode(2, 345, &positions, &triangles, Some(&colours));
        let frame = decode(&bytes).unwrap();
        assert_eq!((frame.pass, frame.iteration), (2, 345));
        assert_eq!(frame.triangles, triangles);
        assert_eq!(frame.colours.as_deref(), Some(colours.as_slice()));
        for (a, b) in frame.positions.iter().zip(&positions) {
            for k in 0..3 {
                // Half a quantization step of the largest extent (40), plus float rounding.
                assert!((a[k] - b[k]).abs() <= 40.0 / 65535.0, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_100k_triangle_frame_stays_under_one_megabyte() {
        let (positions, triangles) = grid_mesh(224); // 100,352 triangles
        let colours = vec![[1u8, 2, 3]; positions.len()];
        let bytes = encode(1, 1, &positions, &triangles, Some(&colours));
        assert!(triangles.len() >= 100_000);
        assert!(bytes.len() < 1_000_000, "{} bytes", bytes.len());
    }

    #[test]
    fn empty_mesh_and_no_colours() {
        let frame = decode(&encode(1, 0, &[], &[], None)).unwrap();
        assert!(
            frame.positions.is_empty() && frame.triangles.is_empty() && frame.colours.is_none()
        );
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        let (positions, triangles) = grid_mesh(4);
        let bytes = encode(1, 1, &positions, &triangles, None);
        assert_eq!(decode(b"nope"), Err(FrameError::Magic));
        let mut other = bytes.clone();
        other[4] = 9;
        assert_eq!(decode(&other), Err(FrameError::Version(9)));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // An index beyond the vertex count.
        let far = encode(1, 1, &positions, &[[0, 1, 10_000]], None);
        let mut lied = far.clone();
        lied[12..16].copy_from_slice(&(positions.len() as u32).to_le_bytes());
        assert_eq!(decode(&lied), Err(FrameError::Corrupt("index out of range")));
        // Huge counts do not allocate or panic.
        let mut huge = bytes;
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }
}
