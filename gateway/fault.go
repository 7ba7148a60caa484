package gateway

import (
	"encoding/json"
	"io"
)

// faultBody is Edge's fault response, with tlsgate's cause and message ID in detail.
type faultBody struct {
	Fault struct {
		Faultstring string `json:"faultstring"`
		Detail      struct {
			Errorcode string `json:"errorcode"`
			Cause     string `json:"cause,omitempty"`
			MessageID string `json:"messageid"`
		} `json:"detail"`
	} `json:"fault"`
}

func writeFaultJSON(w io.Writer, faultstring, code, cause, messageID string) {
	var f faultBody
	f.Fault.Faultstring = faultstring
	f.Fault.Detail.Errorcode = code
	f.Fault.Detail.Cause = cause
	f.Fault.Detail.MessageID = messageID
	_ = json.NewEncoder(w).Encode(&f)
}
