//! One component per route.

mod home;
mod jobs;
mod not_found;
mod upload;

pub use home::Home;
pub use jobs::Jobs;
pub use not_found::NotFound;
pub use upload::Upload;
