//! One component per route.

mod capture;
mod home;
mod job;
mod jobs;
mod not_found;
mod send_job;
mod share;
mod upload;

pub use capture::Capture;
pub use home::Home;
pub use job::Job;
pub use jobs::Jobs;
pub use not_found::NotFound;
pub use share::Share;
pub use upload::Upload;
