package main

// The simulator's HTTP front: what a test needs to see and to stage that vcsim 0.24.2 cannot.
//
//   - -log-requests: one stderr line per SOAP request, "vcsim-request N METHOD THIS", written as
//     the request arrives (before it is handled). A test counts the calls that reached the server,
//     e.g. none after labkit declared vCenter lost; a SIGSTOPped simulator logs what was queued for
//     it once it is continued.
//   - -hold-reconfig VM=MS: vcsim runs every task inside the call that starts it, so a task is
//     always over by the time its client sees it. A real vCenter answers ReconfigVM_Task at once
//     and runs the task for as long as it takes. For the named VMs, the call is answered at once
//     with a task that stays running for MS milliseconds, then really reconfigures the VM (the
//     original request replayed into the simulator) and ends as that reconfigure did.
//   - snapshots: a RevertToSnapshot_Task brings back the VM's devices and power state as vSphere
//     does (snapshots.go); vcsim's own only moves the current snapshot.

import (
	"bytes"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	soapMethod = regexp.MustCompile(`<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)[\s/>]`)
	soapThis   = regexp.MustCompile(`<_this[^>]*>([^<]+)</_this>`)
	taskRef    = regexp.MustCompile(`<returnval type="Task">([^<]+)</returnval>`)
)

type front struct {
	inner http.Handler
	log   bool
	count int64
	holds map[string]time.Duration // VM moref value -> how long its reconfigure tasks run
}

// parseHolds reads "VMNAME=MS[,VMNAME=MS...]" and finds each VM's moref in the model.
func parseHolds(spec string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if spec == "" {
		return out, nil
	}
	byName := map[string]string{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		byName[vm.Name] = vm.Self.Value
	}
	for _, item := range strings.Split(spec, ",") {
		kv := strings.SplitN(item, "=", 2)
		ms, err := strconv.Atoi(kv[len(kv)-1])
		if len(kv) != 2 || err != nil || ms <= 0 {
			return nil, fmt.Errorf("-hold-reconfig: %q is not VMNAME=MILLISECONDS", item)
		}
		ref, ok := byName[kv[0]]
		if !ok {
			return nil, fmt.Errorf("-hold-reconfig: no VM named %q in the model", kv[0])
		}
		out[ref] = time.Duration(ms) * time.Millisecond
	}
	return out, nil
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/sdk" {
		f.inner.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	method, this := "?", "?"
	if m := soapMethod.FindSubmatch(body); m != nil {
		method = string(m[1])
	}
	if m := soapThis.FindSubmatch(body); m != nil {
		this = string(m[1])
	}
	if f.log {
		n := atomic.AddInt64(&f.count, 1)
		fmt.Fprintf(os.Stderr, "vcsim-request %d %s %s\n", n, method, this)
	}
	if snaps.serve(f.inner, w, r, method, this, body) {
		return
	}
	if hold, ok := f.holds[this]; ok && method == "ReconfigVM_Task" && r.Header.Get("Cookie") != "" {
		f.held(w, r, body, this, hold)
		return
	}
	f.inner.ServeHTTP(w, r)
}

// held answers a ReconfigVM_Task at once with a task that runs for `hold`, then replays the
// request into the simulator (same session cookie) and ends as the real reconfigure ended.
func (f *front) held(w http.ResponseWriter, r *http.Request, body []byte, vm string, hold time.Duration) {
	header := r.Header.Clone()
	obj := simulator.Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: vm})
	if obj == nil {
		f.inner.ServeHTTP(w, r)
		return
	}
	task := simulator.CreateTask(obj, "reconfigVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		time.Sleep(hold)
		rec := httptest.NewRecorder()
		replay := httptest.NewRequest(http.MethodPost, "/sdk", bytes.NewReader(body))
		replay.Header = header
		f.inner.ServeHTTP(rec, replay)
		m := taskRef.FindSubmatch(rec.Body.Bytes())
		if m == nil {
			return nil, &types.SystemError{Reason: "the held reconfigure was refused: " + rec.Body.String()}
		}
		done, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "Task", Value: string(m[1])}).(*simulator.Task)
		if !ok {
			return nil, &types.SystemError{Reason: "the held reconfigure's task is gone"}
		}
		if done.Info.Error != nil {
			return nil, done.Info.Error.Fault
		}
		return nil, nil
	})
	go task.Run()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" `+
		`xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" `+
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`+
		`<ReconfigVM_TaskResponse xmlns="urn:vim25"><returnval type="Task">%s</returnval>`+
		`</ReconfigVM_TaskResponse></soapenv:Body></soapenv:Envelope>`, task.Self.Value)
}
