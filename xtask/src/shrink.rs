//! `cargo xtask shrink-dataset`: a small copy of a NeRF-synthetic dataset for tests — every
//! `stride`-th view of each split, images resized to `size` pixels (premultiplied while
//! resampling, so edges keep their colour), `transforms_*.json` rewritten to match.

use std::path::Path;

use anyhow::{Context, Result, bail};
use image::imageops::FilterType;

/// Copies `src` to `dst` with every `stride`-th frame at `size`×`size` (aspect kept).
pub fn shrink(src: &Path, dst: &Path, size: u32, stride: usize) -> Result<()> {
    for split in ["train", "val", "test"] {
        let file = src.join(format!("transforms_{split}.json"));
        if !file.exists() {
            continue;
        }
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file)?).context("transforms JSON")?;
        let Some(frames) = json.get_mut("frames").and_then(|f| f.as_array_mut()) else {
            bail!("{} has no frames", file.display())
        };
        let kept: Vec<serde_json::Value> = frames.iter().step_by(stride.max(1)).cloned().collect();
        for frame in &kept {
            let Some(rel) = frame.get("file_path").and_then(|p| p.as_str()) else {
                bail!("frame without file_path in {}", file.display())
            };
            let rel = if Path::new(rel).extension().is_some() {
                rel.to_owned()
            } else {
                format!("{rel}.png")
            };
            let image = image::open(src.join(&rel)).with_context(|| rel.clone())?.to_rgba32f();
            let (w, h) = image.dimensions();
            let scale = f64::from(size) / f64::from(w.max(h));
            let (nw, nh) =
                ((f64::from(w) * scale).round() as u32, (f64::from(h) * scale).round() as u32);
            let mut premultiplied = image;
            for px in premultiplied.pixels_mut() {
                for c in 0..3 {
                    px[c] *= px[3];
                }
            }
            let mut small = image::imageops::resize(&premultiplied, nw, nh, FilterType::Triangle);
            for px in small.pixels_mut() {
                for c in 0..3 {
                    px[c] = if px[3] > 0.0 { (px[c] / px[3]).min(1.0) } else { 0.0 };
                }
            }
            let out = dst.join(&rel);
            std::fs::create_dir_all(out.parent().unwrap_or(dst))?;
            image::DynamicImage::ImageRgba32F(small)
                .to_rgba8()
                .save(&out)
                .with_context(|| out.display().to_string())?;
        }
        *frames = kept;
        std::fs::create_dir_all(dst)?;
        std::fs::write(
            dst.join(format!("transforms_{split}.json")),
            serde_json::to_string_pretty(&json)?,
        )?;
        eprintln!("{split}: {} views at {size} px", json["frames"].as_array().map_or(0, Vec::len));
    }
    Ok(())
}
