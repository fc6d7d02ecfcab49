package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway"
)

// Message is one rollout event and the rollout it belongs to.
type Message struct {
	Rollout slipway.Rollout
	Event   slipway.RolloutEvent
}

// rolloutID is the rollout the message is about; the event names it too,
// which serves when the caller left Rollout.ID unset.
func (m Message) rolloutID() int64 {
	if m.Rollout.ID != 0 {
		return m.Rollout.ID
	}
	return m.Event.Rollout
}

// deliveryID is the X-Slipway-Delivery value: equal for every attempt and
// target of one event, different for different events.
func (m Message) deliveryID() string {
	if m.Event.Seq > 0 {
		return fmt.Sprintf("%d-%d", m.rolloutID(), m.Event.Seq)
	}
	// Not numbered by the store yet: kind and time tell events apart as
	// well, and are as stable across attempts.
	return fmt.Sprintf("%d-%s-%d", m.rolloutID(), m.Event.Kind, m.Event.At.UnixNano())
}

// Payload is slipway's JSON for one event: the contract with receivers,
// described in the package documentation.
type Payload struct {
	Event   string           `json:"event"`
	At      string           `json:"at"`
	Actor   string           `json:"actor"`
	Reason  string           `json:"reason"`
	Rollout PayloadRollout   `json:"rollout"`
	Verdict *slipway.Verdict `json:"verdict,omitempty"`
}

// PayloadRollout is the rollout as a Payload shows it, after the event.
type PayloadRollout struct {
	ID            int64   `json:"id"`
	Model         string  `json:"model"`
	Candidate     string  `json:"candidate"`
	Baseline      string  `json:"baseline"`
	Strategy      string  `json:"strategy"`
	Status        string  `json:"status"`
	Step          int     `json:"step"`
	StepName      string  `json:"step_name"`
	WeightPercent float64 `json:"weight_percent"`
}

// NewPayload describes m in slipway's JSON. The state after the event
// (status, step, weight) comes from the event, which records it; the
// rollout record may already have moved on.
func NewPayload(m Message) Payload {
	r, ev := m.Rollout, m.Event
	status := ev.Status
	if status == "" {
		status = r.Status
	}
	return Payload{
		Event:  ev.Kind,
		At:     ev.At.UTC().Format(time.RFC3339Nano),
		Actor:  ev.Actor,
		Reason: ev.Reason,
		Rollout: PayloadRollout{
			ID:            m.rolloutID(),
			Model:         r.Model,
			Candidate:     r.Candidate,
			Baseline:      r.Baseline,
			Strategy:      r.Strategy,
			Status:        string(status),
			Step:          ev.Step,
			StepName:      ev.StepName,
			WeightPercent: float64(ev.Weight) / 100,
		},
		Verdict: ev.Verdict,
	}
}

// slackMessage is what Slack-compatible incoming webhooks accept.
type slackMessage struct {
	Text string `json:"text"`
}

// encode writes v as JSON without HTML escaping, so that a person reading
// a payload in a request log sees "<" rather than "\u003c".
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// phrase is how a Slack line tells one kind of event.
type phrase struct {
	emoji string
	// verb is what happened; when atStage is set the line goes on with
	// " stage <name> (<weight>)", so verb ends in its preposition.
	verb    string
	atStage bool
}

var phrases = map[string]phrase{
	"started":         {":rocket:", "started at", true},
	"stage-advanced":  {":arrow_up:", "advanced to", true},
	"approval-needed": {":raised_hand:", "awaits approval at", true},
	"paused":          {":double_vertical_bar:", "paused at", true},
	"resumed":         {":arrow_forward:", "resumed at", true},
	"trigger-fired":   {":warning:", "trigger fired at", true},
	"rolled-back":     {":rotating_light:", "rolled back at", true},
	"aborted":         {":no_entry:", "aborted at", true},
	"completed":       {":white_check_mark:", "completed", false},
	"promoted":        {":fast_forward:", "promoted at", true},
	"undone":          {":leftwards_arrow_with_hook:", "undone", false},
	"retried":         {":repeat:", "retried at", true},
}

// maxReason bounds the reason in a Slack line, which is read at a glance;
// the JSON payload carries it whole.
const maxReason = 200

// SlackText is the one-line Slack message for m, escaped for Slack.
func SlackText(m Message) string {
	r, ev := m.Rollout, m.Event
	p, ok := phrases[ev.Kind]
	if !ok {
		p = phrase{emoji: ":information_source:", verb: ev.Kind, atStage: true}
	}
	var b strings.Builder
	b.WriteString(p.emoji + " " + r.Model + " ")
	if r.Baseline != "" && r.Baseline != r.Candidate {
		b.WriteString(r.Baseline + " → ")
	}
	b.WriteString(r.Candidate + " " + p.verb)
	if p.atStage {
		b.WriteString(" " + stageLabel(ev))
	}
	if ev.Kind == "undone" && r.Previous != "" {
		b.WriteString(", production back on " + r.Previous)
	}
	if ev.Actor != "" && ev.Actor != "controller" {
		b.WriteString(" by " + ev.Actor)
	}
	reason := ev.Reason
	if reason == "" && ev.Verdict != nil {
		reason = ev.Verdict.Reason
	}
	if reason = oneLine(reason); reason != "" {
		b.WriteString(": " + reason)
	}
	return slackEscape(b.String())
}

// stageLabel names the event's step with the candidate's weight there,
// leaving out a zero weight (a rollout sent back to its baseline).
func stageLabel(ev slipway.RolloutEvent) string {
	name := "stage " + ev.StepName
	if ev.StepName == "" {
		name = "step " + strconv.Itoa(ev.Step+1)
	}
	if ev.Weight <= 0 {
		return name
	}
	return name + " (" + strconv.FormatFloat(float64(ev.Weight)/100, 'f', -1, 64) + "%)"
}

// oneLine folds s onto one line and cuts it to maxReason characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxReason {
		return s
	}
	runes := []rune(s)
	return strings.TrimSpace(string(runes[:maxReason-1])) + "…"
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes the three characters Slack reads as markup.
func slackEscape(s string) string { return slackEscaper.Replace(s) }
