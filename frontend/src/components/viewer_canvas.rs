//! A viewer canvas whose mesh a page replaces over time (live frames, then the result GLB).

use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::viewer::Viewer;
use crate::viewer::glb::GlbModel;
use crate::viewer::mesh::Mesh;

/// Handle a page keeps to drive its [`ViewerCanvas`]; calls made before the canvas exists are
/// applied when it mounts.
#[derive(Clone, Copy)]
pub struct ViewerHandle {
    viewer: StoredValue<Option<Viewer>, LocalStorage>,
    pending: StoredValue<Option<Mesh>, LocalStorage>,
    canvas: NodeRef<Canvas>,
    meshes_shown: RwSignal<u32>,
    error: RwSignal<Option<String>>,
}

impl ViewerHandle {
    /// A handle with no canvas yet.
    pub fn new() -> Self {
        Self {
            viewer: StoredValue::new_local(None),
            pending: StoredValue::new_local(None),
            canvas: NodeRef::new(),
            meshes_shown: RwSignal::new(0),
            error: RwSignal::new(None),
        }
    }

    /// Shows `mesh`; the camera frames the first mesh only, so live updates keep the view.
    pub fn show(&self, mesh: Mesh) {
        let first = self.meshes_shown.get_untracked() == 0;
        let shown = self.viewer.with_value(|v| v.as_ref().map(|v| v.set_mesh(&mesh, first)));
        match shown {
            Some(Ok(())) => {
                self.meshes_shown.update(|n| *n += 1);
                self.set_attribute("data-meshes", &self.meshes_shown.get_untracked().to_string());
                self.set_attribute("data-triangles", &mesh.triangle_count().to_string());
            }
            Some(Err(e)) => self.error.set(Some(e)),
            None => self.pending.set_value(Some(mesh)),
        }
    }

    /// Shows a parsed GLB, decoding its base colour and normal textures in the browser.
    pub async fn show_model(&self, model: GlbModel) -> Result<(), String> {
        let triangles = model.mesh.triangle_count();
        let base_color = match &model.base_color {
            Some((bytes, mime)) => Some(decode_image(bytes, mime, true).await?),
            None => None,
        };
        // The normal map is optional: a model whose normal map does not decode still shows.
        let normal = match &model.normal {
            Some((bytes, mime)) => decode_image(bytes, mime, false).await.ok(),
            None => None,
        };
        self.show(model.mesh);
        self.viewer
            .with_value(|v| {
                v.as_ref().map(|v| v.set_textures(base_color.as_ref(), normal.as_ref()))
            })
            .transpose()?;
        self.set_attribute("data-model", "loaded");
        self.set_attribute("data-triangles", &triangles.to_string());
        Ok(())
    }

    /// Marks the canvas (tests and the page read these attributes).
    pub fn set_attribute(&self, name: &str, value: &str) {
        if let Some(canvas) = self.canvas.get_untracked() {
            let _ = canvas.set_attribute(name, value);
        }
    }

    /// Shows or hides the wireframe.
    pub fn set_wireframe(&self, on: bool) {
        if let Some(Err(e)) = self.viewer.with_value(|v| v.as_ref().map(|v| v.set_wireframe(on))) {
            self.error.set(Some(e));
        }
    }
}

impl Default for ViewerHandle {
    fn default() -> Self {
        Self::new()
    }
}

/// Decodes an encoded image with the browser's decoders; `colour` images may be colour-managed,
/// data (a normal map) must keep its bytes as they are.
async fn decode_image(
    bytes: &[u8],
    mime: &str,
    colour: bool,
) -> Result<web_sys::ImageBitmap, String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("cannot read the texture: {e:?}"))?;
    let window = web_sys::window().ok_or("no window")?;
    let bitmap_options = web_sys::ImageBitmapOptions::new();
    if !colour {
        bitmap_options.set_color_space_conversion(web_sys::ColorSpaceConversion::None);
        bitmap_options.set_premultiply_alpha(web_sys::PremultiplyAlpha::None);
    }
    let promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(&blob, &bitmap_options)
        .map_err(|e| format!("cannot decode the texture: {e:?}"))?;
    let bitmap = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("cannot decode the texture: {e:?}"))?;
    bitmap.dyn_into().map_err(|_| "the texture did not decode to an image".to_owned())
}

/// The canvas of a [`ViewerHandle`], with its caption (triangles or the error).
#[component]
pub fn ViewerCanvas(handle: ViewerHandle, #[prop(into)] caption: Signal<String>) -> impl IntoView {
    let empty = Mesh::default();
    handle.canvas.on_load(move |canvas| match Viewer::attach(&canvas, &empty) {
        Ok(viewer) => {
            handle.viewer.set_value(Some(viewer));
            if let Some(mesh) = handle.pending.try_update_value(Option::take).flatten() {
                handle.show(mesh);
            }
        }
        Err(e) => handle.error.set(Some(e)),
    });
    view! {
        <figure class="viewer">
            <canvas node_ref=handle.canvas data-testid="viewer" data-frames="0" data-meshes="0"></canvas>
            <figcaption>
                {move || handle.error.get().map_or_else(|| caption.get(), |e| format!("Cannot show the mesh: {e}"))}
            </figcaption>
        </figure>
    }
}
