//! Section 1 of the seed, "basic operations", in both idioms.
//!
//! Run: `cargo run --release --example seed_ops`

// Both operands are written the same way (`&a, &b`), as the Python is, although the second
// argument also takes an owned tensor or a number.
#![allow(clippy::needless_borrows_for_generic_args)]

use tandem::{tf, torch};

pub fn main() {
    println!("# PyTorch idiom");
    let torch_add = torch::add(&torch::tensor([1.0, 2.0]), &torch::tensor([3.0, 4.0]));
    let torch_subtract = torch::subtract(&torch::tensor([5.0, 6.0]), &torch::tensor([2.0, 1.0]));
    let torch_multiply = torch::multiply(&torch::tensor([2.0, 3.0]), &torch::tensor([4.0, 5.0]));
    let torch_divide = torch::divide(&torch::tensor([10.0, 15.0]), &torch::tensor([2.0, 3.0]));
    let torch_pow = torch::pow(&torch::tensor([2.0, 3.0]), 3);
    let torch_negative = torch::neg(&torch::tensor([4.0, -5.0]));
    let torch_abs = torch::abs(&torch::tensor([-2.0, 3.0]));
    let torch_sign = torch::sign(&torch::tensor([-2.0, 3.0]));
    let torch_round = torch::round(&torch::tensor([1.6, 2.4]));
    let torch_ceil = torch::ceil(&torch::tensor([1.6, 2.4]));
    let torch_floor = torch::floor(&torch::tensor([1.6, 2.4]));
    let torch_square = torch::square(&torch::tensor([2.0, 3.0]));
    let torch_sqrt = torch::sqrt(&torch::tensor([4.0, 9.0]));
    let torch_maximum = torch::maximum(&torch::tensor([1.0, 2.0]), &torch::tensor([3.0, 1.0]));
    let torch_minimum = torch::minimum(&torch::tensor([1.0, 2.0]), &torch::tensor([3.0, 1.0]));
    let x = torch::tensor([2.0, 3.0, 4.0]);
    let result_cumsum = torch::cumsum(&x, 0);
    let result_cumprod = torch::cumprod(&x, 0);
    let result_log = torch::log(&x);
    for (name, t) in [
        ("add", &torch_add),
        ("subtract", &torch_subtract),
        ("multiply", &torch_multiply),
        ("divide", &torch_divide),
        ("pow", &torch_pow),
        ("neg", &torch_negative),
        ("abs", &torch_abs),
        ("sign", &torch_sign),
        ("round", &torch_round),
        ("ceil", &torch_ceil),
        ("floor", &torch_floor),
        ("square", &torch_square),
        ("sqrt", &torch_sqrt),
        ("maximum", &torch_maximum),
        ("minimum", &torch_minimum),
        ("cumsum", &result_cumsum),
        ("cumprod", &result_cumprod),
        ("log", &result_log),
    ] {
        println!("{name}: {t}");
    }
    println!("{}", torch::tensor_with(3.0, torch::float32));
    println!("{}", torch::tensor_with([3.0, 4.0], torch::float32));

    println!("# TensorFlow idiom");
    let tf_add = tf::math::add(&tf::constant([1.0, 2.0]), &tf::constant([3.0, 4.0]));
    let tf_subtract = tf::math::subtract(&tf::constant([5.0, 6.0]), &tf::constant([2.0, 1.0]));
    let tf_multiply = tf::math::multiply(&tf::constant([2.0, 3.0]), &tf::constant([4.0, 5.0]));
    let tf_divide = tf::math::divide(&tf::constant([10.0, 15.0]), &tf::constant([2.0, 3.0]));
    let tf_pow = tf::math::pow(&tf::constant([2.0, 3.0]), 3);
    let tf_negative = tf::math::negative(&tf::constant([4.0, -5.0]));
    let tf_abs = tf::math::abs(&tf::constant([-2.0, 3.0]));
    let tf_sign = tf::math::sign(&tf::constant([-2.0, 3.0]));
    let tf_round = tf::math::round(&tf::constant([1.6, 2.4]));
    let tf_ceil = tf::math::ceil(&tf::constant([1.6, 2.4]));
    let tf_floor = tf::math::floor(&tf::constant([1.6, 2.4]));
    let tf_square = tf::math::square(&tf::constant([2.0, 3.0]));
    let tf_sqrt = tf::math::sqrt(&tf::constant([4.0, 9.0]));
    let tf_maximum = tf::math::maximum(&tf::constant([1.0, 2.0]), &tf::constant([3.0, 1.0]));
    let tf_minimum = tf::math::minimum(&tf::constant([1.0, 2.0]), &tf::constant([3.0, 1.0]));
    let x = tf::constant([2.0, 3.0, 4.0]);
    let tf_cumsum = tf::math::cumsum(&x, 0);
    let tf_cumprod = tf::math::cumprod(&x, 0);
    let tf_log = tf::math::log(&x);
    for (name, t) in [
        ("add", &tf_add),
        ("subtract", &tf_subtract),
        ("multiply", &tf_multiply),
        ("divide", &tf_divide),
        ("pow", &tf_pow),
        ("negative", &tf_negative),
        ("abs", &tf_abs),
        ("sign", &tf_sign),
        ("round", &tf_round),
        ("ceil", &tf_ceil),
        ("floor", &tf_floor),
        ("square", &tf_square),
        ("sqrt", &tf_sqrt),
        ("maximum", &tf_maximum),
        ("minimum", &tf_minimum),
        ("cumsum", &tf_cumsum),
        ("cumprod", &tf_cumprod),
        ("log", &tf_log),
    ] {
        println!("{name}: {}", t.to_tf_string());
    }
    println!("{}", tf::constant_with(3.0, tf::float32).to_tf_string());
    println!("{}", tf::constant([1.0, 3.0]).to_tf_string());
}
