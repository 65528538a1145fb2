//! The floating-point type of a run (f32 or f64), shared by the CPU backend and the physics functions.
pub trait Real:
    num_traits::Float + num_traits::FromPrimitive + Send + Sync + Default + bytemuck::Pod + std::fmt::Debug + std::iter::Sum + 'static
{
    /// Convert an f64 constant (rounding to nearest for f32).
    fn c(x: f64) -> Self;
    fn as_f64(self) -> f64;
}
impl Real for f32 {
    #[inline(always)]
    fn c(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
}
impl Real for f64 {
    #[inline(always)]
    fn c(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
}
