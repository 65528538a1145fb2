//! WGSL shader variants from one source.
//!
//! Shaders in `shaders/` use the type alias `real` for field data and may pull in other files
//! with a line `//#include "name.wgsl"` (textual, recursive, each file once). `build.rs` expands
//! the includes, validates every shader with naga in both precisions and embeds the expanded
//! texts in the binary; here only the `alias real = f32|f64;` prelude is prepended.
//!
//! Writing shaders for both precisions:
//! - write literals as `real(0.5)`: an abstract float converted to `real` (exact for f64);
//! - naga cannot constant-fold math built-ins on f64 values (`sqrt(real(2.0))` fails to parse
//!   as "Cannot apply math function to type"): fold in abstract float, `real(sqrt(2.0))`,
//!   or apply the built-in to a runtime value;
//! - on f64, only arithmetic, `sqrt`, `inverseSqrt`, `abs`, `min`/`max`/`clamp`, `floor`/`ceil`/
//!   `round`/`trunc`/`fract`, `fma`, `mix`, `dot`/`length` etc. work on Vulkan; trigonometric,
//!   `exp*`, `log*`, `pow`, `radians`/`degrees` are rejected by `build.rs` (Vulkan returns garbage);
//!   `frexp` needs 64-bit integers and is rejected by naga.
use crate::config::Precision;

include!(concat!(env!("OUT_DIR"), "/shaders.rs"));

/// The line prepended to every shader for `precision`.
pub fn prelude(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => PRELUDE_F32,
        Precision::F64 => PRELUDE_F64,
    }
}

/// Names (file stems, e.g. `"copy_scale"`) of all embedded shaders, sorted.
pub fn shader_names() -> impl Iterator<Item = &'static str> {
    SHADERS
        .iter()
        .map(|(file, _)| file.strip_suffix(".wgsl").unwrap_or(file))
}

/// The preprocessed source of shader `name` (`"copy_scale"` or `"copy_scale.wgsl"`), or `None`.
pub fn try_shader_source(name: &str, precision: Precision) -> Option<String> {
    let stem = name.strip_suffix(".wgsl").unwrap_or(name);
    SHADERS
        .iter()
        .find(|(file, _)| file.strip_suffix(".wgsl") == Some(stem))
        .map(|(_, body)| format!("{}{}", prelude(precision), body))
}

/// The preprocessed source of shader `name` for `precision`.
///
/// # Panics
/// If no shader `name` is embedded (a programming error: the set is fixed at build time).
pub fn shader_source(name: &str, precision: Precision) -> String {
    try_shader_source(name, precision).unwrap_or_else(|| {
        panic!(
            "no shader named {name:?} in shaders/ (available: {})",
            shader_names().collect::<Vec<_>>().join(", ")
        )
    })
}
