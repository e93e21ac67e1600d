package main

// Snapshot reverts as vSphere does them. vcsim 0.24.2's RevertToSnapshot_Task only moves the VM's
// snapshot.currentSnapshot: the VM keeps the devices and the power state it has. On vSphere a revert
// brings back the VM's configuration as it was when the snapshot was taken (its NICs' networks and
// cables included, and so the VM's `network` list), and its power state: powered on only for a snapshot taken with memory of a
// running VM (unless the request says suppressPowerOn), powered off otherwise.
//
// The front (front.go) hands both calls here. The simulator runs a task inside the call that
// starts it, so once the call is answered the snapshot exists (or the revert is done): the VM's
// devices are recorded right after CreateSnapshot_Task, and restored, with the power state, right
// after RevertToSnapshot_Task, before the answer reaches the client.

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	memoryTrue   = regexp.MustCompile(`<memory[^>]*>\s*true\s*</memory>`)
	suppressTrue = regexp.MustCompile(`<suppressPowerOn[^>]*>\s*true\s*</suppressPowerOn>`)
	snaps        = &snapshotStore{kept: map[string]keptState{}}
)

// keptState is what a revert to one snapshot restores.
type keptState struct {
	vm       types.ManagedObjectReference
	devices  []types.BaseVirtualDevice
	networks []types.ManagedObjectReference // the VM's `network`: what those devices are on
	running  bool                           // taken with memory of a powered-on VM
}

type snapshotStore struct {
	mu   sync.Mutex
	kept map[string]keptState // by snapshot moref value
}

// serve answers CreateSnapshot_Task and RevertToSnapshot_Task through the simulator, then records
// or restores the VM's state; false leaves any other request to the caller.
func (s *snapshotStore) serve(inner http.Handler, w http.ResponseWriter, r *http.Request, method, this string,
	body []byte) bool {
	if method != "CreateSnapshot_Task" && method != "RevertToSnapshot_Task" {
		return false
	}
	rec := httptest.NewRecorder()
	inner.ServeHTTP(rec, r)
	if task := finishedTask(rec.Body.Bytes()); task != nil {
		if method == "CreateSnapshot_Task" {
			s.record(this, task, memoryTrue.Match(body))
		} else {
			s.restore(this, !suppressTrue.Match(body))
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	return true
}

// finishedTask is the successful task an answer names, or nil.
func finishedTask(answer []byte) *simulator.Task {
	m := taskRef.FindSubmatch(answer)
	if m == nil {
		return nil
	}
	task, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "Task", Value: string(m[1])}).(*simulator.Task)
	if !ok || task.Info.State != types.TaskInfoStateSuccess {
		return nil
	}
	return task
}

func (s *snapshotStore) record(vmRef string, task *simulator.Task, memory bool) {
	snapshot, ok := task.Info.Result.(types.ManagedObjectReference)
	vm, found := simulator.Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: vmRef}).(*simulator.VirtualMachine)
	if !ok || !found {
		return
	}
	var state keptState
	simulator.Map.WithLock(vm, func() {
		state = keptState{vm: vm.Self, devices: copyDevices(vm.Config.Hardware.Device),
			networks: append([]types.ManagedObjectReference(nil), vm.Network...),
			running:  memory && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn}
	})
	s.mu.Lock()
	s.kept[snapshot.Value] = state
	s.mu.Unlock()
}

func (s *snapshotStore) restore(snapshot string, powerOn bool) {
	s.mu.Lock()
	state, ok := s.kept[snapshot]
	s.mu.Unlock()
	if !ok {
		return // taken before this front saw it: left as vcsim does it
	}
	vm, found := simulator.Map.Get(state.vm).(*simulator.VirtualMachine)
	if !found {
		return
	}
	power := types.VirtualMachinePowerStatePoweredOff
	if state.running && powerOn {
		power = types.VirtualMachinePowerStatePoweredOn
	}
	simulator.Map.WithLock(vm, func() {
		// a copy again: the simulator edits the VM's device list in place, which must not reach the kept one
		changes := []types.PropertyChange{
			{Name: "config.hardware.device", Val: copyDevices(state.devices)},
			{Name: "network", Val: append([]types.ManagedObjectReference(nil), state.networks...)},
		}
		if vm.Runtime.PowerState != power {
			var boot interface{}
			if power == types.VirtualMachinePowerStatePoweredOn {
				boot = time.Now()
			}
			changes = append(changes,
				types.PropertyChange{Name: "runtime.powerState", Val: power},
				types.PropertyChange{Name: "summary.runtime.powerState", Val: power},
				types.PropertyChange{Name: "summary.runtime.bootTime", Val: boot})
		}
		simulator.Map.Update(vm, changes)
	})
}

// copyDevices copies the list and each network card with its connectable flags (what labkit edits);
// the simulator replaces, never edits, the other devices it is given.
func copyDevices(devices []types.BaseVirtualDevice) []types.BaseVirtualDevice {
	out := make([]types.BaseVirtualDevice, len(devices))
	for i, dev := range devices {
		out[i] = dev
		if card, ok := dev.(*types.VirtualE1000); ok { // the model's only NIC type
			own := *card
			if card.Connectable != nil {
				conn := *card.Connectable
				own.Connectable = &conn
			}
			out[i] = &own
		}
	}
	return out
}
