// Package onnx serves ONNX models with ONNX Runtime, the CPU build of its C
// library, loaded at run time through github.com/yalue/onnxruntime_go.
//
// Importing the package registers the "onnx" format with runtime.Register
// and nothing else: the library is loaded by the first ONNX version loaded
// (or by Init), from the path LibraryPath finds. When it is missing, that
// load fails with an error matching ErrNoLibrary that says where slipway
// looked and how to install it (scripts/install-onnxruntime.sh); other
// formats are unaffected.
//
// A Session validates every request against the model's own inputs
// (names, datatypes, fixed dimensions, element counts) before ONNX Runtime
// sees it, so a bad request is a *runtime.InputError, not a C++ error
// string. Datatypes are never converted: an FP32 input must be sent as
// FP32. The supported element types are float, double, int32, int64 and
// bool, that is FP32, FP64, INT32, INT64 and BOOL in the Open Inference
// Protocol; model outputs of other types (such as the maps and sequences
// of a ZipMap) are not computed and not returned.
//
// Loading a version warms its session up with one prediction on a row of
// zeros (see New), so the first user request is not the slow one. Each
// prediction uses one thread unless SLIPWAY_ONNX_THREADS or
// Options.Threads says otherwise; a prediction whose context ends while
// it runs is stopped between two of the model's operators.
//
// The package needs cgo (a C compiler at build time); the library itself
// is only needed at run time.
package onnx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

func init() { runtime.Register(slipway.FormatONNX, load) }

var _ runtime.Predictor = (*Session)(nil)

func load(_ context.Context, v slipway.Version, artifact []byte) (runtime.Predictor, error) {
	s, err := New(artifact, v.Signature, Options{})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Options tunes a Session. The zero value is the default.
type Options struct {
	// Threads is how many threads one prediction may use (ONNX Runtime's
	// intra-op threads). Zero means the value of SLIPWAY_ONNX_THREADS, or
	// 1 when that is unset: the gateway runs requests in parallel, so one
	// thread per prediction keeps every core busy without contention.
	Threads int
}

// Session is one loaded ONNX model. Predict is safe for concurrent use:
// ONNX Runtime runs a session from many threads at once. Get one from New;
// the zero value is not usable.
type Session struct {
	sig     slipway.Signature    // what Signature reports
	inputs  []slipway.TensorSpec // the model's inputs, in its order, for validation
	outputs []slipway.TensorSpec // the outputs computed, in the session's order

	// mu guards sess against Close: Predict holds it for reading while it
	// runs, Close for writing while it destroys the session.
	mu   sync.RWMutex
	sess *ort.DynamicAdvancedSession // nil once closed
}

// New loads an ONNX model from its bytes. sig is the version's signature:
// when it has no inputs (or no outputs) they are read from the model, with
// -1 for every dimension the model leaves free; when it has some, they
// must name the model's tensors with the model's datatypes and compatible
// shapes, and dimensions sig fixes are then enforced on requests too.
//
// New warms the session up with one prediction on a single row of zeros
// when every input's dimensions but the first are known, so the first
// user request does not pay ONNX Runtime's lazy initialisation. A model
// that cannot predict on it fails to load.
//
// Errors loading the library match ErrNoLibrary or say why the library
// would not load; errors in the model or the signature match
// slipway.ErrInvalid.
func New(model []byte, sig slipway.Signature, opts Options) (*Session, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if len(model) == 0 {
		return nil, slipway.Errorf(slipway.ErrInvalid, "onnx model: artifact is empty")
	}
	threads, err := opts.threads()
	if err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, slipway.Errorf(slipway.ErrInvalid, "onnx model: %s", ortMessage(err))
	}
	s := &Session{}
	if s.inputs, s.outputs, err = specs(ins, outs); err != nil {
		return nil, err
	}
	if s.sig, err = reconcile(sig, s.inputs, s.outputs); err != nil {
		return nil, err
	}
	s.inputs = tighten(s.inputs, s.sig.Inputs)
	if s.sess, err = newSession(model, names(s.inputs), names(s.outputs), threads); err != nil {
		return nil, err
	}
	if err := s.warmUp(); err != nil {
		s.Close()
		return nil, slipway.Errorf(slipway.ErrInvalid, "onnx model: warm-up prediction on a row of zeros: %w", err)
	}
	return s, nil
}

func (o Options) threads() (int, error) {
	if o.Threads > 0 {
		return o.Threads, nil
	}
	v := os.Getenv(EnvThreads)
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a whole number of threads, at least 1", EnvThreads, v)
	}
	return n, nil
}

func newSession(model []byte, inputs, outputs []string, threads int) (*ort.DynamicAdvancedSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx session options: %w", err)
	}
	defer opts.Destroy()
	err = errors.Join(
		opts.SetIntraOpNumThreads(threads),
		opts.SetInterOpNumThreads(1),
		// Idle pool threads sleep instead of spinning for more work, which
		// would steal the cores other requests run on.
		opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"),
	)
	if err != nil {
		return nil, fmt.Errorf("onnx session options: %w", err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opts)
	if err != nil {
		return nil, slipway.Errorf(slipway.ErrInvalid, "onnx model: %s", ortMessage(err))
	}
	return sess, nil
}

// ortMessage is ONNX Runtime's own message, without the wrapper's prefix
// saying which of its steps failed.
func ortMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"Error creating temporary session: ", "Error creating C session: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

// warmUp predicts once on a zero row, when the inputs' shapes allow it.
func (s *Session) warmUp() error {
	inputs := make([]runtime.Tensor, len(s.inputs))
	for i, spec := range s.inputs {
		shape, ok := warmUpShape(spec.Shape)
		if !ok {
			return nil
		}
		inputs[i] = runtime.Tensor{Name: spec.Name, Datatype: spec.Datatype, Shape: shape,
			Data: zeros(spec.Datatype, elements(shape))}
	}
	_, err := s.Predict(context.Background(), inputs)
	return err
}

// warmUpShape is shape with a free first dimension set to 1; ok is false
// when another dimension is free.
func warmUpShape(shape []int64) (_ []int64, ok bool) {
	out := make([]int64, len(shape))
	for i, d := range shape {
		switch {
		case d >= 0:
			out[i] = d
		case i == 0:
			out[i] = 1
		default:
			return nil, false
		}
	}
	return out, true
}

func zeros(datatype string, n int) any {
	switch datatype {
	case runtime.FP32:
		return make([]float32, n)
	case runtime.FP64:
		return make([]float64, n)
	case runtime.INT32:
		return make([]int32, n)
	case runtime.INT64:
		return make([]int64, n)
	case runtime.BOOL:
		return make([]bool, n)
	}
	panic("onnx: no zeros for datatype " + datatype) // specs admits no other
}

// Signature describes the model's inputs and outputs.
func (s *Session) Signature() slipway.Signature { return s.sig }

// Close destroys the ONNX Runtime session, after waiting for predictions
// in flight. Predict then fails; a second Close does nothing.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
