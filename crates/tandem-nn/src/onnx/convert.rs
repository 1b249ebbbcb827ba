//! From a traced graph to ONNX nodes.

use super::proto::{
    attribute_type, data_type, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use super::OnnxError;
use crate::state_dict::le_bytes;
use std::collections::HashMap;
use tandem_core::autograd::trace::{Attr, TracedOp};
use tandem_core::{DType, Tensor};

const OPSET: i64 = 17;
const IR_VERSION: i64 = 8;

fn unsupported(op: &str, detail: impl Into<String>) -> OnnxError {
    OnnxError::Unsupported {
        op: op.to_string(),
        detail: detail.into(),
    }
}

fn ints(name: &str, v: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v,
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: v,
        r#type: attribute_type::FLOAT,
        ..Default::default()
    }
}

fn strings(name: &str, v: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        r#type: attribute_type::STRINGS,
        ..Default::default()
    }
}

/// The recorded attribute `key` of `op`, when `pick` accepts its kind.
fn attr<T>(op: &TracedOp, key: &str, pick: fn(Attr) -> Option<T>) -> Result<T, OnnxError> {
    op.attr(key)
        .and_then(pick)
        .ok_or_else(|| unsupported(op.name(), format!("no recorded {key}")))
}

fn attr_ints(op: &TracedOp, key: &str) -> Result<Vec<i64>, OnnxError> {
    attr(op, key, |a| match a {
        Attr::Ints(v) => Some(v),
        _ => None,
    })
}

fn attr_float(op: &TracedOp, key: &str) -> Result<f64, OnnxError> {
    attr(op, key, |a| match a {
        Attr::Float(v) => Some(v),
        _ => None,
    })
}

fn attr_int(op: &TracedOp, key: &str) -> Result<i64, OnnxError> {
    attr(op, key, |a| match a {
        Attr::Int(v) => Some(v),
        _ => None,
    })
}

fn attr_str(op: &TracedOp, key: &str) -> Result<&'static str, OnnxError> {
    attr(op, key, |a| match a {
        Attr::Str(v) => Some(v),
        _ => None,
    })
}

fn onnx_type(d: DType) -> i32 {
    match d {
        DType::Float32 => data_type::FLOAT,
        DType::Float64 => data_type::DOUBLE,
        DType::Int64 => data_type::INT64,
        DType::Int32 => data_type::INT32,
        DType::UInt8 => data_type::UINT8,
        DType::Bool => data_type::BOOL,
    }
}

fn tensor_proto(name: &str, t: &Tensor) -> TensorProto {
    TensorProto {
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: onnx_type(t.dtype()),
        name: name.to_string(),
        raw_data: le_bytes(&t.detach().contiguous()),
    }
}

/// The one axis whose extent differs between the two traces, if any.
fn batch_axis(a: &[usize], b: &[usize], what: &str) -> Result<Option<usize>, OnnxError> {
    if a.len() != b.len() {
        return Err(unsupported(what, "its rank depends on the batch size"));
    }
    let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    match differ.as_slice() {
        [] => Ok(None),
        [i] => Ok(Some(*i)),
        _ => Err(unsupported(
            what,
            "more than one axis depends on the batch size",
        )),
    }
}

/// A graph input or output: `batch` names its batch axis with the symbol `symbol`.
fn value_info(
    name: &str,
    shape: &[usize],
    batch: Option<usize>,
    symbol: &str,
    dtype: DType,
) -> ValueInfoProto {
    let dim = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| tensor_shape_proto::Dimension {
            value: Some(if Some(i) == batch {
                tensor_shape_proto::dimension::Value::DimParam(symbol.into())
            } else {
                tensor_shape_proto::dimension::Value::DimValue(d as i64)
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: onnx_type(dtype),
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
    }
}

/// Builds the graph by walking back from the output.
///
/// The forward pass is traced twice, on the example batch and on one row more; the two graphs
/// must have the same ops, and comparing their shapes tells which axis of each value is the
/// batch axis (what a `Reshape` or `Slice` must keep dynamic). A leaf that is neither a
/// parameter nor the same in both passes was computed from the input outside the recorded ops,
/// and is refused rather than frozen into the graph.
pub(super) struct Converter<'a> {
    input: &'a Tensor,
    /// Each op of the first trace's twin in the second.
    twins: HashMap<usize, TracedOp>,
    names: &'a [(String, Tensor)],
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    /// Leaves already given a name (parameters, constants).
    leaves: Vec<(Tensor, String)>,
    /// Each visited op's output name, by op id.
    done: HashMap<usize, String>,
    /// Each exported recurrent layer's outputs (sequence, h_n, c_n), by layer id.
    rnns: HashMap<i64, [String; 3]>,
    uses_input: bool,
    fresh: usize,
}

impl<'a> Converter<'a> {
    pub(super) fn new(input: &'a Tensor, names: &'a [(String, Tensor)]) -> Self {
        Converter {
            input,
            twins: HashMap::new(),
            names,
            nodes: Vec::new(),
            initializers: Vec::new(),
            leaves: Vec::new(),
            done: HashMap::new(),
            rnns: HashMap::new(),
            uses_input: false,
            fresh: 0,
        }
    }

    pub(super) fn run(
        mut self,
        output: &Tensor,
        twin_input: &Tensor,
        twin_output: &Tensor,
    ) -> Result<ModelProto, OnnxError> {
        let (Some(op), Some(twin)) = (output.traced_op(), twin_output.traced_op()) else {
            return Err(OnnxError::Disconnected);
        };
        self.pair(&op, &twin, twin_input)?;
        let out = self.visit(&op)?;
        if !self.uses_input {
            return Err(OnnxError::Disconnected);
        }
        self.node("Identity", vec![out], vec!["output".into()], vec![]);
        let out_axis = batch_axis(output.shape(), twin_output.shape(), "the output")?;
        let graph = GraphProto {
            node: self.nodes,
            name: "tandem".into(),
            initializer: self.initializers,
            input: vec![value_info(
                "input",
                self.input.shape(),
                Some(0),
                "batch",
                self.input.dtype(),
            )],
            output: vec![value_info(
                "output",
                output.shape(),
                out_axis,
                // the same symbol only when the extent is the batch size itself
                if out_axis.is_some_and(|a| output.shape()[a] == self.input.shape()[0]) {
                    "batch"
                } else {
                    "output_batch"
                },
                output.dtype(),
            )],
        };
        Ok(ModelProto {
            ir_version: IR_VERSION,
            producer_name: "tandem".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            graph: Some(graph),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
        })
    }

    /// Walks the two traces in step, recording each op's twin; refuses graphs whose ops differ
    /// and leaves that depend on the input without being recorded.
    fn pair(&mut self, a: &TracedOp, b: &TracedOp, twin_input: &Tensor) -> Result<(), OnnxError> {
        if self.twins.contains_key(&a.id()) {
            return Ok(());
        }
        if a.name() != b.name() || a.inputs().len() != b.inputs().len() {
            return Err(unsupported(
                a.name(),
                format!(
                    "the graph changes with the batch size ({} vs {})",
                    a.name(),
                    b.name()
                ),
            ));
        }
        self.twins.insert(a.id(), b.clone());
        for i in 0..a.inputs().len() {
            match (a.input_op(i), b.input_op(i)) {
                (Some(x), Some(y)) => self.pair(&x, &y, twin_input)?,
                (None, None) => self.pair_leaves(a, &a.inputs()[i], &b.inputs()[i], twin_input)?,
                _ => {
                    return Err(unsupported(
                        a.name(),
                        "the graph changes with the batch size",
                    ))
                }
            }
        }
        if let (Some(Attr::Tensor(x)), Some(Attr::Tensor(y))) = (a.attr("index"), b.attr("index")) {
            match (x.traced_op(), y.traced_op()) {
                (Some(p), Some(q)) => self.pair(&p, &q, twin_input)?,
                (None, None) => self.pair_leaves(a, &x, &y, twin_input)?,
                _ => {
                    return Err(unsupported(
                        a.name(),
                        "the graph changes with the batch size",
                    ))
                }
            }
        }
        Ok(())
    }

    fn pair_leaves(
        &self,
        op: &TracedOp,
        x: &Tensor,
        y: &Tensor,
        twin_input: &Tensor,
    ) -> Result<(), OnnxError> {
        if x.same(self.input) && y.same(twin_input) {
            return Ok(());
        }
        if x.same(y) {
            return Ok(()); // a parameter or a constant held by the model
        }
        let same_value = x.shape() == y.shape()
            && x.dtype() == y.dtype()
            && x.detach().to_dtype(DType::Float64).to_vec::<f64>()
                == y.detach().to_dtype(DType::Float64).to_vec::<f64>();
        if same_value {
            Ok(())
        } else {
            Err(unsupported(
                op.name(),
                "an operand computed from the input outside the recorded ops (a comparison, a \
                 detached or integer value): it cannot be written as a constant",
            ))
        }
    }

    /// The batch axis of `op`'s output.
    fn out_batch(&self, op: &TracedOp) -> Result<Option<usize>, OnnxError> {
        let twin = self
            .twins
            .get(&op.id())
            .expect("every visited op was paired");
        batch_axis(op.output_shape(), twin.output_shape(), op.name())
    }

    /// The batch axis of input `i` of `op`.
    fn in_batch(&self, op: &TracedOp, i: usize) -> Result<Option<usize>, OnnxError> {
        match op.input_op(i) {
            Some(src) => self.out_batch(&src),
            None if op.inputs()[i].same(self.input) => Ok(Some(0)),
            None => Ok(None),
        }
    }

    fn name(&mut self, hint: &str) -> String {
        self.fresh += 1;
        format!("{hint}_{}", self.fresh)
    }

    fn node(
        &mut self,
        op_type: &str,
        input: Vec<String>,
        output: Vec<String>,
        attribute: Vec<AttributeProto>,
    ) {
        let name = format!("{op_type}_{}", self.nodes.len());
        self.nodes.push(NodeProto {
            input,
            output,
            name,
            op_type: op_type.into(),
            attribute,
        });
    }

    /// One-output node with a fresh output name.
    fn emit(&mut self, op_type: &str, input: Vec<String>, attrs: Vec<AttributeProto>) -> String {
        let out = self.name(&op_type.to_lowercase());
        self.node(op_type, input, vec![out.clone()], attrs);
        out
    }

    fn constant(&mut self, hint: &str, t: &Tensor) -> Result<String, OnnxError> {
        let name = self.name(hint);
        self.initializers.push(tensor_proto(&name, t));
        Ok(name)
    }

    fn i64s(&mut self, hint: &str, v: &[i64]) -> Result<String, OnnxError> {
        self.constant(hint, &Tensor::from_vec(v.to_vec(), &[v.len()]))
    }

    /// The value name of input `i` of `op`: another op's output, the graph input, or an
    /// initializer.
    fn operand(&mut self, op: &TracedOp, i: usize) -> Result<String, OnnxError> {
        match op.input_op(i) {
            Some(src) => self.visit(&src),
            None => Ok(self.leaf(&op.inputs()[i])),
        }
    }

    /// The value name of a tensor an op holds as an attribute (an index).
    fn value_of(&mut self, t: &Tensor) -> Result<String, OnnxError> {
        match t.traced_op() {
            Some(op) => self.visit(&op),
            None => Ok(self.leaf(t)),
        }
    }

    /// A tensor no traced op produced: the graph input, or an initializer (named by its
    /// parameter name when it has one), each written once.
    fn leaf(&mut self, t: &Tensor) -> String {
        if t.same(self.input) {
            self.uses_input = true;
            return "input".into();
        }
        if let Some((_, n)) = self.leaves.iter().find(|(l, _)| l.same(t)) {
            return n.clone();
        }
        let name = match self.names.iter().find(|(_, p)| p.same(t)) {
            Some((n, _)) => n.clone(),
            None => self.name("const"),
        };
        self.initializers.push(tensor_proto(&name, t));
        self.leaves.push((t.clone(), name.clone()));
        name
    }

    fn input_shape(op: &TracedOp, i: usize) -> Vec<usize> {
        match op.input_op(i) {
            Some(src) => src.output_shape().to_vec(),
            None => op.inputs()[i].shape().to_vec(),
        }
    }

    fn visit(&mut self, op: &TracedOp) -> Result<String, OnnxError> {
        if let Some(n) = self.done.get(&op.id()) {
            return Ok(n.clone());
        }
        if !op.is_traced() {
            return Err(unsupported(op.name(), "recorded outside the trace"));
        }
        let out = self.convert(op)?;
        self.done.insert(op.id(), out.clone());
        Ok(out)
    }

    fn convert(&mut self, op: &TracedOp) -> Result<String, OnnxError> {
        let name = op.name();
        let unary = |onnx: &'static str| Some(onnx);
        let simple = match name {
            "ReluBackward0" => unary("Relu"),
            "SigmoidBackward0" => unary("Sigmoid"),
            "TanhBackward0" => unary("Tanh"),
            "ExpBackward0" => unary("Exp"),
            "LogBackward0" => unary("Log"),
            "NegBackward0" => unary("Neg"),
            "AbsBackward0" => unary("Abs"),
            "SqrtBackward0" => unary("Sqrt"),
            "ReciprocalBackward0" => unary("Reciprocal"),
            "SinBackward0" => unary("Sin"),
            "CosBackward0" => unary("Cos"),
            "CloneBackward0" => unary("Identity"),
            _ => None,
        };
        if let Some(onnx) = simple {
            let x = self.operand(op, 0)?;
            return Ok(self.emit(onnx, vec![x], vec![]));
        }
        match name {
            "MmBackward0" | "AddBackward0" | "SubBackward0" | "MulBackward0" | "DivBackward0" => {
                let onnx = match name {
                    "MmBackward0" => "MatMul",
                    "AddBackward0" => "Add",
                    "SubBackward0" => "Sub",
                    "MulBackward0" => "Mul",
                    _ => "Div",
                };
                let (a, b) = (self.operand(op, 0)?, self.operand(op, 1)?);
                Ok(self.emit(onnx, vec![a, b], vec![]))
            }
            "AddmmBackward0" | "AddmmReluBackward" => {
                // beta * input + mat1 · mat2 (the fused op always has alpha 1), then the ReLU
                // that `nn.Sequential` fused into it.
                let beta = attr_float(op, "beta")?;
                let (c, a, b) = (
                    self.operand(op, 0)?,
                    self.operand(op, 1)?,
                    self.operand(op, 2)?,
                );
                let y = self.emit("Gemm", vec![a, b, c], vec![float("beta", beta as f32)]);
                Ok(if name == "AddmmReluBackward" {
                    self.emit("Relu", vec![y], vec![])
                } else {
                    y
                })
            }
            "AddBackward1" | "SubBackward1" | "MulBackward1" | "DivBackward1" | "RsubBackward1" => {
                let v = attr_float(op, "scalar")?;
                let x = self.operand(op, 0)?;
                let dtype = op.output_dtype().unwrap_or(DType::Float32);
                let c = self.constant("scalar", &tandem_core::full(&[], v, dtype))?;
                let from = match op.input_op(0) {
                    Some(src) => src.output_dtype().unwrap_or(dtype),
                    None => op.inputs()[0].dtype(),
                };
                let x = if from == dtype {
                    x
                } else {
                    self.emit(
                        "Cast",
                        vec![x],
                        vec![int("to", i64::from(onnx_type(dtype)))],
                    )
                };
                Ok(match name {
                    "AddBackward1" => self.emit("Add", vec![x, c], vec![]),
                    "SubBackward1" => self.emit("Sub", vec![x, c], vec![]),
                    "MulBackward1" => self.emit("Mul", vec![x, c], vec![]),
                    "DivBackward1" => self.emit("Div", vec![x, c], vec![]),
                    _ => self.emit("Sub", vec![c, x], vec![]),
                })
            }
            "SoftmaxBackward0" | "LogSoftmaxBackward0" => {
                let axis = attr_int(op, "dim")?;
                let x = self.operand(op, 0)?;
                let onnx = if name == "SoftmaxBackward0" {
                    "Softmax"
                } else {
                    "LogSoftmax"
                };
                Ok(self.emit(onnx, vec![x], vec![int("axis", axis)]))
            }
            "ViewBackward0" | "SqueezeBackward0" | "UnsqueezeBackward0" => {
                let x = self.operand(op, 0)?;
                let to = op.output_shape().to_vec();
                // The batch axis stays dynamic: copied (0) when it keeps its place, else the
                // one inferred extent (-1).
                let (from_axis, to_axis) = (self.in_batch(op, 0)?, self.out_batch(op)?);
                let mut target: Vec<i64> = to.iter().map(|&d| d as i64).collect();
                let from = Self::input_shape(op, 0);
                match (from_axis, to_axis) {
                    // 0 copies the input's extent at the same place: only when it is the same
                    (Some(f), Some(t)) => {
                        target[t] = if f == t && from[f] == to[t] { 0 } else { -1 }
                    }
                    (None, None) => {}
                    _ => return Err(unsupported(name, "a reshape that drops the batch axis")),
                }
                let shape = self.i64s("shape", &target)?;
                Ok(self.emit("Reshape", vec![x, shape], vec![]))
            }
            "PermuteBackward0" => {
                let perm = attr_ints(op, "perm")?;
                let x = self.operand(op, 0)?;
                Ok(self.emit("Transpose", vec![x], vec![ints("perm", perm)]))
            }
            "SliceBackward0" => {
                let (dim, start, end, step) = (
                    attr_int(op, "dim")?,
                    attr_int(op, "start")?,
                    attr_int(op, "end")?,
                    attr_int(op, "step")?,
                );
                let x = self.operand(op, 0)?;
                let size = Self::input_shape(op, 0)[dim as usize] as i64;
                let twin = self.twins[&op.id()].clone();
                let same = |k: &str| attr_int(&twin, k).ok() == attr_int(op, k).ok();
                let end = if self.in_batch(op, 0)? == Some(dim as usize) {
                    // along the batch axis only a slice to its end stays correct
                    let twin_size = Self::input_shape(&twin, 0)[dim as usize] as i64;
                    if end >= size
                        && attr_int(&twin, "end")? >= twin_size
                        && same("start")
                        && start >= 0
                    {
                        i64::MAX
                    } else {
                        return Err(unsupported(
                            name,
                            "a slice of the batch axis that does not run to its end",
                        ));
                    }
                } else {
                    if !(same("start") && same("end")) {
                        return Err(unsupported(
                            name,
                            "slice bounds that change with the batch size",
                        ));
                    }
                    if end >= size {
                        i64::MAX
                    } else {
                        end
                    }
                };
                let starts = self.i64s("starts", &[start])?;
                let ends = self.i64s("ends", &[end])?;
                let axes = self.i64s("axes", &[dim])?;
                let steps = self.i64s("steps", &[step])?;
                Ok(self.emit("Slice", vec![x, starts, ends, axes, steps], vec![]))
            }
            "CatBackward0" => {
                let axis = attr_int(op, "dim")?;
                let parts = (0..op.inputs().len())
                    .map(|i| self.operand(op, i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(self.emit("Concat", parts, vec![int("axis", axis)]))
            }
            "IndexSelectBackward0" => {
                let axis = attr_int(op, "dim")?;
                let Some(Attr::Tensor(index)) = op.attr("index") else {
                    return Err(unsupported(name, "no recorded index"));
                };
                let data = self.operand(op, 0)?;
                let index = self.value_of(&index)?;
                Ok(self.emit("Gather", vec![data, index], vec![int("axis", axis)]))
            }
            "ToCopyBackward0" => {
                let to = match op.output_dtype() {
                    Some(d) => onnx_type(d),
                    None => return Err(unsupported(name, "no recorded dtype")),
                };
                let x = self.operand(op, 0)?;
                Ok(self.emit("Cast", vec![x], vec![int("to", i64::from(to))]))
            }
            "ConvolutionBackward0" | "ConvolutionReluBackward" => self.convolution(op),
            "MaxPool2DWithIndicesBackward0" => self.max_pool(op),
            "AvgPool2DBackward0" => {
                let (kernel, stride, pad, ceil, include) = (
                    attr_ints(op, "kernel")?,
                    attr_ints(op, "stride")?,
                    attr_ints(op, "padding")?,
                    attr_int(op, "ceil_mode")?,
                    attr_int(op, "count_include_pad")?,
                );
                let x = self.operand(op, 0)?;
                Ok(self.emit(
                    "AveragePool",
                    vec![x],
                    vec![
                        ints("kernel_shape", kernel),
                        ints("strides", stride),
                        ints("pads", vec![pad[0], pad[1], pad[0], pad[1]]),
                        int("ceil_mode", ceil),
                        int("count_include_pad", include),
                    ],
                ))
            }
            "RnnExport" => self.recurrent(op),
            other => Err(unsupported(other, "no ONNX form for this op")),
        }
    }

    fn transpose_to_nchw(&mut self, x: String) -> String {
        self.emit("Transpose", vec![x], vec![ints("perm", vec![0, 3, 1, 2])])
    }

    fn transpose_to_nhwc(&mut self, x: String) -> String {
        self.emit("Transpose", vec![x], vec![ints("perm", vec![0, 2, 3, 1])])
    }

    fn convolution(&mut self, op: &TracedOp) -> Result<String, OnnxError> {
        let nhwc = attr_str(op, "layout")? == "nhwc";
        let (stride, pad, dilation, groups) = (
            attr_ints(op, "stride")?,
            attr_ints(op, "padding")?,
            attr_ints(op, "dilation")?,
            attr_int(op, "groups")?,
        );
        let mut x = self.operand(op, 0)?;
        let mut w = self.operand(op, 1)?;
        let wshape = Self::input_shape(op, 1);
        let kernel = if nhwc {
            // Keras's [KH, KW, C, O] kernel to ONNX's [O, C, KH, KW]
            x = self.transpose_to_nchw(x);
            w = self.emit("Transpose", vec![w], vec![ints("perm", vec![3, 2, 0, 1])]);
            vec![wshape[0] as i64, wshape[1] as i64]
        } else {
            vec![wshape[2] as i64, wshape[3] as i64]
        };
        let mut inputs = vec![x, w];
        if op.inputs().len() > 2 {
            inputs.push(self.operand(op, 2)?);
        }
        let mut y = self.emit(
            "Conv",
            inputs,
            vec![
                ints("kernel_shape", kernel),
                ints("strides", stride),
                ints("pads", vec![pad[0], pad[1], pad[0], pad[1]]),
                ints("dilations", dilation),
                int("group", groups),
            ],
        );
        if op.name() == "ConvolutionReluBackward" {
            y = self.emit("Relu", vec![y], vec![]);
        }
        Ok(if nhwc { self.transpose_to_nhwc(y) } else { y })
    }

    fn max_pool(&mut self, op: &TracedOp) -> Result<String, OnnxError> {
        let nhwc = attr_str(op, "layout")? == "nhwc";
        let (kernel, stride, pad, ceil) = (
            attr_ints(op, "kernel")?,
            attr_ints(op, "stride")?,
            attr_ints(op, "padding")?,
            attr_int(op, "ceil_mode")?,
        );
        let mut x = self.operand(op, 0)?;
        if nhwc {
            x = self.transpose_to_nchw(x);
        }
        let y = self.emit(
            "MaxPool",
            vec![x],
            vec![
                ints("kernel_shape", kernel),
                ints("strides", stride),
                ints("pads", vec![pad[0], pad[1], pad[0], pad[1]]),
                int("ceil_mode", ceil),
            ],
        );
        Ok(if nhwc { self.transpose_to_nhwc(y) } else { y })
    }

    /// A recurrent layer (all its layers) as a chain of ONNX `RNN` / `GRU` / `LSTM` nodes;
    /// `which` picks the sequence output, `h_n` or `c_n`.
    fn recurrent(&mut self, op: &TracedOp) -> Result<String, OnnxError> {
        let id = attr_int(op, "layer_id")?;
        let which = attr_int(op, "which")? as usize;
        if let Some(outs) = self.rnns.get(&id) {
            return Ok(outs[which].clone());
        }
        let mode = attr_str(op, "mode")?;
        let (h, layers, dirs, bias, batch_first) = (
            attr_int(op, "hidden_size")?,
            attr_int(op, "num_layers")? as usize,
            attr_int(op, "directions")?,
            attr_int(op, "bias")? == 1,
            attr_int(op, "batch_first")? == 1,
        );
        if dirs != 1 {
            return Err(unsupported(mode, "bidirectional recurrent layers"));
        }
        if attr_int(op, "initial_state")? == 1 {
            return Err(unsupported(mode, "an initial state passed to the layer"));
        }
        if Self::input_shape(op, 0).len() != 3 {
            return Err(unsupported(mode, "unbatched (2-D) input"));
        }
        let (onnx, blocks): (&str, Vec<usize>) = match mode {
            // PyTorch's gate order to ONNX's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
            "lstm" => ("LSTM", vec![0, 3, 1, 2]),
            "gru" => ("GRU", vec![1, 0, 2]),
            _ => ("RNN", vec![0]),
        };
        let reorder = |t: &Tensor| -> Tensor {
            let n = t.shape()[0] / blocks.len();
            let parts: Vec<Tensor> = blocks.iter().map(|&b| t.narrow(0, b * n, n)).collect();
            let refs: Vec<&Tensor> = parts.iter().collect();
            Tensor::cat(&refs, 0).unsqueeze(0).contiguous()
        };
        let mut x = self.operand(op, 0)?;
        if batch_first {
            x = self.emit("Transpose", vec![x], vec![ints("perm", vec![1, 0, 2])]);
        }
        let per_layer = if bias { 4 } else { 2 };
        let (mut hs, mut cs) = (Vec::new(), Vec::new());
        for layer in 0..layers {
            let p = |k: usize| op.inputs()[1 + layer * per_layer + k].detach();
            let w = self.constant("W", &reorder(&p(0)))?;
            let r = self.constant("R", &reorder(&p(1)))?;
            let mut inputs = vec![x.clone(), w, r];
            if bias {
                let b = Tensor::cat(&[&reorder(&p(2)), &reorder(&p(3))], 1);
                inputs.push(self.constant("B", &b)?);
            }
            let mut attrs = vec![int("hidden_size", h)];
            match mode {
                "gru" => attrs.push(int("linear_before_reset", 1)),
                "tanh" => attrs.push(strings("activations", &["Tanh"])),
                "relu" => attrs.push(strings("activations", &["Relu"])),
                _ => {}
            }
            let (y, yh, yc) = (self.name("Y"), self.name("Y_h"), self.name("Y_c"));
            let mut outs = vec![y.clone(), yh.clone()];
            if mode == "lstm" {
                outs.push(yc.clone());
            }
            self.node(onnx, inputs, outs, attrs);
            let axes = self.i64s("axes", &[1])?;
            x = self.emit("Squeeze", vec![y, axes], vec![]);
            hs.push(yh);
            cs.push(yc);
        }
        let seq = if batch_first {
            self.emit("Transpose", vec![x], vec![ints("perm", vec![1, 0, 2])])
        } else {
            x
        };
        let h_n = self.emit("Concat", hs, vec![int("axis", 0)]);
        let c_n = if mode == "lstm" {
            self.emit("Concat", cs, vec![int("axis", 0)])
        } else {
            String::new()
        };
        let outs = [seq, h_n, c_n];
        let out = outs[which].clone();
        self.rnns.insert(id, outs);
        Ok(out)
    }
}
