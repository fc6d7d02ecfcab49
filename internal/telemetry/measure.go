package telemetry

// Measures for the statistics engine (internal/analysis) that depend on
// rules only this package knows: which requests count as failures, and
// which labels each quality metric averages over. They live here so the
// sample counts a judgement reports stay in step with the figures they
// stand behind.

// ErrorRate is (ServerErrors + Timeouts) / Requests, as in
// VersionStats.ErrorRate: client errors are the caller's fault and do not
// count. Undefined without requests.
func (a *Aggregate) ErrorRate() (float64, bool) {
	return ratio(float64(a.ServerErrors+a.Timeouts), float64(a.Requests))
}

// AccuracyN is the number of labels Accuracy averages over: labelled
// class predictions, plus the binary ones while binary metrics are
// defined.
func (q *QualityAggregate) AccuracyN() int64 {
	n := q.ClassN
	if q.binary() {
		n += q.binaryN()
	}
	return n
}

// BinaryN is the number of labels Precision, Recall, F1 and AUC count;
// zero while they are undefined because some labelled score was not a
// binary one (NotBinary).
func (q *QualityAggregate) BinaryN() int64 {
	if !q.binary() {
		return 0
	}
	return q.binaryN()
}

// LogLossN is the number of labels LogLoss averages over: binary labels
// while binary metrics are defined, plus labelled class probabilities.
func (q *QualityAggregate) LogLossN() int64 {
	n := q.ClassLogLossN
	if q.binary() {
		n += q.binaryN()
	}
	return n
}
