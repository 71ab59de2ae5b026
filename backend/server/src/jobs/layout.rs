//! Where a job's files live: `DATA/jobs/{id}/input/` (the dataset as uploaded) and
//! `DATA/jobs/{id}/out/` (meshes, metrics, checkpoint).

use std::path::{Path, PathBuf};

/// The folder of one job.
#[derive(Debug, Clone)]
pub struct JobDir {
    root: PathBuf,
}

impl JobDir {
    /// The folder of job `id` under the data directory.
    pub fn new(data_dir: &Path, id: &str) -> Self {
        Self { root: data_dir.join("jobs").join(id) }
    }

    /// The folder an upload is assembled in before it becomes the job's folder by one rename.
    pub fn staging(data_dir: &Path, id: &str) -> PathBuf {
        data_dir.join("jobs").join(format!(".{id}.staging"))
    }

    /// The whole folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The uploaded dataset.
    pub fn input(&self) -> PathBuf {
        self.root.join("input")
    }

    /// The reconstruction's output folder.
    pub fn out(&self) -> PathBuf {
        self.root.join("out")
    }

    /// The textured GLB.
    pub fn glb(&self) -> PathBuf {
        self.out().join("mesh.glb")
    }

    /// The masks estimated for photos without alpha (empty or absent otherwise).
    pub fn masks(&self) -> PathBuf {
        meshcast_engine::dataset::photos::masks_dir(&self.out().join(super::nvdiffrec::POSES_DIR))
    }

    /// The OBJ, MTL and textures in one zip.
    pub fn obj_zip(&self) -> PathBuf {
        self.out().join("mesh.obj.zip")
    }
}
