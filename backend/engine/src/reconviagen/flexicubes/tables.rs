//! FlexiCubes' lookup tables, derived here from their rules rather than transcribed: for each
//! of the 256 sign configurations of a cube's corners, the dual vertices (one per loop of the
//! surface's crossing curve on the cube's faces, as dual marching cubes places them) with the
//! edges each connects, and the configurations whose single ambiguous face needs the
//! neighbouring cube's agreement.
//!
//! Conventions (the reference's): corner `i` sits at `(i & 1, i >> 1 & 1, i >> 2 & 1)`; edge
//! `e` joins corners [`EDGES`]`[e]`; bit `i` of a configuration is set when corner `i` is
//! inside (SDF < 0). On a face whose two inside corners are diagonal the curve cuts each
//! inside corner off on its own. Dual vertices are listed by the smallest corner of the
//! smaller side their loop encloses (the inside side on a tie), edges in increasing order.

use std::sync::OnceLock;

/// The corners each edge joins.
pub const EDGES: [(usize, usize); 12] = [
    (0, 1),
    (1, 5),
    (4, 5),
    (0, 4),
    (2, 3),
    (3, 7),
    (6, 7),
    (2, 6),
    (2, 0),
    (3, 1),
    (7, 5),
    (6, 4),
];

/// Corner `i`'s offset in the cube.
pub fn corner(i: usize) -> [i64; 3] {
    [(i & 1) as i64, (i >> 1 & 1) as i64, (i >> 2 & 1) as i64]
}

/// The tables, in the reference's layout.
#[derive(Debug)]
pub struct Tables {
    /// `[256][4][7]`: each dual vertex's edges, −1 padded.
    pub dmc: Vec<[[i64; 7]; 4]>,
    /// `[256]`: dual vertices per configuration.
    pub num_vd: Vec<i64>,
    /// `[256][5]`: 1 when the configuration has to agree with a neighbour, the direction of that
    /// neighbour (x, y, z), and the configuration to use instead when the neighbour has to too.
    pub check: Vec<[i64; 5]>,
}

/// The tables, built on first use.
pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut dmc = Vec::with_capacity(256);
        let mut num_vd = Vec::with_capacity(256);
        let mut check = Vec::with_capacity(256);
        for case in 0..256 {
            let (found, ambiguous) = loops(case);
            let mut row = [[-1i64; 7]; 4];
            for (v, edges) in found.iter().enumerate() {
                for (k, &e) in edges.iter().enumerate() {
                    row[v][k] = e as i64;
                }
            }
            dmc.push(row);
            num_vd.push(found.len() as i64);
            // One ambiguous face where cutting the inside corners off leaves fewer loops than
            // the opposite choice: both cubes sharing the face must then make the same choice.
            let (inverse, _) = loops(255 - case);
            check.push(match ambiguous[..] {
                [(axis, side)] if found.len() < inverse.len() => {
                    let mut row = [1, 0, 0, 0, (255 - case) as i64];
                    row[1 + axis] = if side == 1 { 1 } else { -1 };
                    row
                }
                _ => [0; 5],
            });
        }
        Tables { dmc, num_vd, check }
    })
}

/// The loops of configuration `case` (edge lists, in table order) and its ambiguous faces
/// (axis, side).
fn loops(case: usize) -> (Vec<Vec<usize>>, Vec<(usize, usize)>) {
    let inside = |c: usize| case >> c & 1 == 1;
    let cut: Vec<bool> = EDGES.iter().map(|&(a, b)| inside(a) != inside(b)).collect();
    let mut parent: Vec<usize> = (0..12).collect();
    fn find(parent: &mut [usize], mut e: usize) -> usize {
        while parent[e] != e {
            e = parent[e];
        }
        e
    }
    let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        parent[ra] = rb;
    };
    let mut ambiguous = Vec::new();
    for axis in 0..3 {
        for side in 0..2 {
            let corners: Vec<usize> = (0..8).filter(|&c| corner(c)[axis] == side as i64).collect();
            let edges: Vec<usize> = (0..12)
                .filter(|&e| corners.contains(&EDGES[e].0) && corners.contains(&EDGES[e].1))
                .collect();
            let crossed: Vec<usize> = edges.iter().copied().filter(|&e| cut[e]).collect();
            match crossed[..] {
                [a, b] => union(&mut parent, a, b),
                [_, _, _, _] => {
                    ambiguous.push((axis, side));
                    for &c in corners.iter().filter(|&&c| inside(c)) {
                        let around: Vec<usize> = edges
                            .iter()
                            .copied()
                            .filter(|&e| EDGES[e].0 == c || EDGES[e].1 == c)
                            .collect();
                        union(&mut parent, around[0], around[1]);
                    }
                }
                _ => {}
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    for e in (0..12).filter(|&e| cut[e]) {
        let root = find(&mut parent, e);
        match roots.iter().position(|&r| r == root) {
            Some(i) => groups[i].push(e),
            None => {
                roots.push(root);
                groups.push(vec![e]);
            }
        }
    }
    // The corners a loop encloses: its smaller side (inside on a tie).
    let enclosed = |edges: &[usize]| {
        let (mut ins, mut outs) = (Vec::new(), Vec::new());
        for &e in edges {
            let (a, b) = EDGES[e];
            let (i, o) = if inside(a) { (a, b) } else { (b, a) };
            if !ins.contains(&i) {
                ins.push(i);
            }
            if !outs.contains(&o) {
                outs.push(o);
            }
        }
        let side = if ins.len() <= outs.len() { ins } else { outs };
        side.into_iter().min().unwrap_or(0)
    };
    groups.sort_by_key(|g| (enclosed(g), g[0]));
    (groups, ambiguous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_shape_dual_marching_cubes_gives() {
        let t = tables();
        // One inside corner: a triangle around it.
        assert_eq!(t.dmc[1][0][..4], [0, 3, 8, -1]);
        assert_eq!(t.num_vd[0], 0);
        assert_eq!(t.num_vd[255], 0);
        // Two inside corners diagonal on the z = 0 face stay apart; their complement joins.
        assert_eq!(t.num_vd[6], 2);
        assert_eq!(t.num_vd[249], 1);
        // Every crossed edge belongs to exactly one dual vertex; at most 4 vertices of 7 edges.
        for case in 0..256usize {
            let mut seen = [0; 12];
            for v in &t.dmc[case][..t.num_vd[case] as usize] {
                for &e in v.iter().filter(|&&e| e >= 0) {
                    seen[e as usize] += 1;
                }
            }
            for (e, &(a, b)) in EDGES.iter().enumerate() {
                let crossed = (case >> a & 1) != (case >> b & 1);
                assert_eq!(seen[e], usize::from(crossed), "case {case} edge {e}");
            }
        }
        // The configurations that must agree with a neighbour: one ambiguous face each.
        let flagged: Vec<usize> = (0..256).filter(|&c| t.check[c][0] == 1).collect();
        assert_eq!(flagged.len(), 36);
        assert!(flagged.iter().all(|&c| t.check[c][4] == (255 - c) as i64));
        assert_eq!(t.check[249][..4], [1, 0, 0, -1]);
    }
}
