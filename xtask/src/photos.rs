//! `cargo xtask photos`: what a person with a camera would have of a posed NeRF-synthetic
//! scene — its training views composited onto a plain light background, as JPEG, without alpha
//! and without poses. The true poses go to `truth.json` (not a name `dataset::load` reads), so
//! tests can compare COLMAP's cameras and masks against them.

use std::path::Path;

use anyhow::{Context, Result, bail};
use image::imageops::FilterType;

/// The background the photos are flattened onto (an off-white wall or table).
const BACKGROUND: [f32; 3] = [236.0 / 255.0, 234.0 / 255.0, 228.0 / 255.0];

/// Writes `dst/images/<name>.jpg` for every frame of `src/transforms_train.json` at `size` px
/// and `dst/truth.json` (the original frames, `file_path` pointing at the JPEGs).
pub fn photos(src: &Path, dst: &Path, size: u32, quality: u8) -> Result<()> {
    let file = src.join("transforms_train.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).context("transforms_train.json")?)
            .context("transforms JSON")?;
    let Some(frames) = json.get_mut("frames").and_then(|f| f.as_array_mut()) else {
        bail!("{} has no frames", file.display())
    };
    std::fs::create_dir_all(dst.join("images"))?;
    for frame in frames.iter_mut() {
        let Some(rel) = frame.get("file_path").and_then(|p| p.as_str()).map(str::to_owned) else {
            bail!("frame without file_path in {}", file.display())
        };
        let path =
            if Path::new(&rel).extension().is_some() { rel.clone() } else { format!("{rel}.png") };
        let rgba = image::open(src.join(&path)).with_context(|| path.clone())?.to_rgba32f();
        let (w, h) = rgba.dimensions();
        let mut flat = image::Rgb32FImage::new(w, h);
        for (out, px) in flat.pixels_mut().zip(rgba.pixels()) {
            for c in 0..3 {
                out[c] = px[c] * px[3] + BACKGROUND[c] * (1.0 - px[3]);
            }
        }
        let scale = (f64::from(size) / f64::from(w.max(h))).min(1.0);
        let (nw, nh) =
            ((f64::from(w) * scale).round() as u32, (f64::from(h) * scale).round() as u32);
        let small = image::imageops::resize(&flat, nw, nh, FilterType::Lanczos3);
        let name = format!(
            "{}.jpg",
            Path::new(&rel)
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
        );
        let out = dst.join("images").join(&name);
        let rgb = image::DynamicImage::ImageRgb32F(small).to_rgb8();
        let mut writer = std::io::BufWriter::new(std::fs::File::create(&out)?);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut writer, quality)
            .encode_image(&rgb)
            .with_context(|| out.display().to_string())?;
        frame["file_path"] = format!("images/{name}").into();
    }
    let count = frames.len();
    std::fs::write(dst.join("truth.json"), serde_json::to_string_pretty(&json)?)?;
    eprintln!("{count} photos at {size} px in {}", dst.display());
    Ok(())
}
