//! [`Axes`]: the `axis=` / `dim=` argument of reductions, one axis or several.

/// The axes of a reduction, as Python passes them: one (`1`, `-1`) or several (`[0, 1]`,
/// `&[0, 1]`, `vec![0, 1]`). Negative axes count from the end; no axes means every axis (as
/// `torch.amax(x, dim=())`; TensorFlow's `axis=[]`, which reduces nothing, has no spelling here).
///
/// ```
/// use tandem::Axes;
/// assert_eq!(Axes::from(-1).0, vec![-1]);
/// assert_eq!(Axes::from([0, 2]).0, vec![0, 2]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axes(pub Vec<isize>);

impl Axes {
    /// The axes as non-negative indices for a tensor of `ndim` dimensions, largest first and
    /// without repeats: the order in which reducing them one at a time keeps the others valid.
    /// No axes means every axis, as the reductions read it; a 0-d tensor has none to reduce.
    ///
    /// Panics when an axis is out of range.
    ///
    /// ```
    /// use tandem::Axes;
    /// assert_eq!(Axes::from([0, -1]).descending(3), vec![2, 0]);
    /// assert_eq!(Axes(vec![]).descending(2), vec![1, 0]);
    /// assert!(Axes::from(-1).descending(0).is_empty());
    /// ```
    pub fn descending(&self, ndim: usize) -> Vec<isize> {
        if ndim == 0 {
            return Vec::new();
        }
        if self.0.is_empty() {
            return (0..ndim as isize).rev().collect();
        }
        let mut v: Vec<isize> = self
            .0
            .iter()
            .map(|&a| {
                let n = ndim as isize;
                assert!(
                    (-n..n).contains(&a) || (n == 0 && (a == 0 || a == -1)),
                    "axis {a} is out of range for a tensor of {ndim} dimensions"
                );
                if a < 0 {
                    a + n
                } else {
                    a
                }
            })
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.dedup();
        v
    }
}

macro_rules! one_axis {
    ($($t:ty),*) => {$(
        impl From<$t> for Axes {
            fn from(a: $t) -> Axes {
                Axes(vec![a as isize])
            }
        }
    )*};
}
one_axis!(i32, i64, isize, usize);

impl<const N: usize> From<[isize; N]> for Axes {
    fn from(a: [isize; N]) -> Axes {
        Axes(a.to_vec())
    }
}

impl<const N: usize> From<&[isize; N]> for Axes {
    fn from(a: &[isize; N]) -> Axes {
        Axes(a.to_vec())
    }
}

impl From<&[isize]> for Axes {
    fn from(a: &[isize]) -> Axes {
        Axes(a.to_vec())
    }
}

impl From<Vec<isize>> for Axes {
    fn from(a: Vec<isize>) -> Axes {
        Axes(a)
    }
}
