//! `result.obj.zip`: the OBJ, its MTL and textures in one download.

use std::io::Write;
use std::path::Path;

use meshcast_engine::export::atomic::write_atomic;

/// Zips `out/mesh.obj`, `mesh.mtl` and `mesh_*.png` into `dest`, atomically.
pub fn write(out: &Path, dest: &Path) -> Result<(), String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| format!("cannot list {}: {e}", out.display()))?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n == "mesh.obj" || n == "mesh.mtl" || (n.starts_with("mesh_") && n.ends_with(".png"))
        })
        .collect();
    names.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in &names {
        // PNGs are already compressed.
        let method = if name.ends_with(".png") {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        let bytes = std::fs::read(out.join(name)).map_err(|e| format!("{name}: {e}"))?;
        zip.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    let bytes = zip.finish().map_err(|e| e.to_string())?.into_inner();
    write_atomic(dest, |file| file.write_all(&bytes)).map_err(|e| e.to_string())
}
