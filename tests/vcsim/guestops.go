package main

// VMware Tools guest operations for vcsim 0.24.2, whose own GuestProcessManager has no methods
// and whose GuestFileManager only reaches Docker containers. labkit replaces both managed objects
// (same references, so ServiceContent.guestOperationsManager leads to them) with its own, which
// run programs and move files inside a netns lab VM: each mapped vcsim VM (-guest-exec
// VM=PID) is entered through the netns VM's init process with nsenter, as the netns backend's
// console does. Faults follow the vSphere API: InvalidPowerState, GuestOperationsUnavailable
// (Tools not running, or the VM has no guest behind it), InvalidGuestLogin, FileNotFound,
// FileAlreadyExists, NotAFile, GuestProcessNotFound. Transfer URLs have the real form
// https://*:PORT/guestFile?id=..&token=.. (the client puts in the host it connected to) and are
// served by the simulator's own HTTPS server; each is good for one transfer.

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	exitMissing = 101 // the helper scripts' exit codes, mapped to vSphere faults
	exitIsDir   = 102
	exitExists  = 103
	ticketLife  = 10 * time.Minute
	guestPath   = "/guestFile"
	guestPATH   = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

type guestProc struct {
	info types.GuestProcessInfo
	cmd  *exec.Cmd
}

type ticket struct {
	pid     int
	path    string
	upload  bool
	data    []byte // download: the file as it was when the transfer was initiated
	size    int64  // upload: the size announced
	mode    int64  // upload: permissions, 0 = leave as created
	owner   *int32
	group   *int32
	expires time.Time
}

type guestOps struct {
	user     string
	password string
	vms      map[string]int // vcsim VM name -> init PID of the netns VM behind it

	mu      sync.Mutex
	port    string
	nextPid int64
	procs   map[string]map[int64]*guestProc // by VM moref value
	tickets map[string]*ticket
}

// parseGuestExec reads "VM=PID[,VM=PID...]".
func parseGuestExec(spec string) (map[string]int, error) {
	out := map[string]int{}
	if spec == "" {
		return out, nil
	}
	for _, item := range strings.Split(spec, ",") {
		kv := strings.SplitN(item, "=", 2)
		if len(kv) != 2 || kv[0] == "" {
			return nil, fmt.Errorf("-guest-exec: %q is not VMNAME=PID", item)
		}
		pid, err := strconv.Atoi(kv[1])
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("-guest-exec: %q: the PID must be a positive number", item)
		}
		out[kv[0]] = pid
	}
	return out, nil
}

// installGuestOps replaces the model's guest process and file managers with labkit's, marks the
// mapped VMs' Tools as running, and serves the transfer URLs. Call before NewServer.
func installGuestOps(m *simulator.Model, g *guestOps) error {
	g.procs = map[string]map[int64]*guestProc{}
	g.tickets = map[string]*ticket{}
	g.nextPid = 1000

	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	gom := simulator.Map.Get(*si.Content.GuestOperationsManager).(*simulator.GuestOperationsManager)
	simulator.Map.Put(&processManager{GuestProcessManager: mo.GuestProcessManager{Self: *gom.ProcessManager}, ops: g})
	simulator.Map.Put(&fileManager{GuestFileManager: mo.GuestFileManager{Self: *gom.FileManager}, ops: g})

	found := map[string]bool{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if _, ok := g.vms[vm.Name]; !ok {
			continue
		}
		found[vm.Name] = true
		running := string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
		vm.Guest.ToolsRunningStatus = running
		vm.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
		vm.Guest.ToolsVersion = "11333"
		vm.Summary.Guest.ToolsRunningStatus = running
		vm.Summary.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
	}
	for name := range g.vms {
		if !found[name] {
			return fmt.Errorf("-guest-exec: no VM named %q in the model", name)
		}
	}
	m.Service.HandleFunc(guestPath, g.serveTransfer)
	return nil
}

func (g *guestOps) setPort(port string) {
	g.mu.Lock()
	g.port = port
	g.mu.Unlock()
}

// prepare checks what VMware Tools checks before any guest operation and returns the PID of the
// netns VM's init to enter, or the fault and its message.
func (g *guestOps) prepare(ctx *simulator.Context, ref types.ManagedObjectReference,
	auth types.BaseGuestAuthentication) (int, *soap.Fault) {
	obj, ok := ctx.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return 0, simulator.Fault(fmt.Sprintf("managed object not found: %s", ref), &types.ManagedObjectNotFound{Obj: ref})
	}
	var name string
	var power types.VirtualMachinePowerState
	var tools string
	ctx.WithLock(obj, func() {
		name, power, tools = obj.Name, obj.Runtime.PowerState, obj.Guest.ToolsRunningStatus
	})
	if power != types.VirtualMachinePowerStatePoweredOn {
		return 0, simulator.Fault(fmt.Sprintf("%s is %s", name, power), &types.InvalidPowerState{
			RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: power})
	}
	if tools != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		return 0, simulator.Fault(fmt.Sprintf("VMware Tools is not running in %s (%s)", name, tools),
			&types.GuestOperationsUnavailable{})
	}
	creds, ok := auth.(*types.NamePasswordAuthentication)
	if !ok || subtle.ConstantTimeCompare([]byte(creds.Username), []byte(g.user)) != 1 ||
		subtle.ConstantTimeCompare([]byte(creds.Password), []byte(g.password)) != 1 || g.password == "" {
		return 0, simulator.Fault("Failed to authenticate with the guest operating system using the supplied credentials.",
			&types.InvalidGuestLogin{})
	}
	pid, ok := g.vms[name]
	if !ok {
		return 0, simulator.Fault(fmt.Sprintf("vcsim: %s has no netns guest behind it (not in -guest-exec)", name),
			&types.GuestOperationsUnavailable{})
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return 0, simulator.Fault(fmt.Sprintf("vcsim: the netns guest behind %s (init PID %d) is gone", name, pid),
			&types.GuestOperationsUnavailable{})
	}
	return pid, nil
}

func enter(pid int, argv ...string) *exec.Cmd {
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "-m", "-u", "-p", "--"}, argv...)...)
	cmd.Env = []string{guestPATH, "HOME=/root", "LANG=C"}
	return cmd
}

// guestSh runs a short helper script in the guest: its exit code and both outputs.
func guestSh(pid int, stdin []byte, script string, args ...string) (int, []byte, string) {
	cmd := enter(pid, append([]string{"/bin/sh", "-c", script, "sh"}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if errb.Len() == 0 {
			errb.WriteString(err.Error())
		}
	}
	return code, out.Bytes(), strings.TrimSpace(errb.String())
}

func fileFault(code int, file, stderr string) *soap.Fault {
	switch code {
	case exitMissing:
		return simulator.Fault("File "+file+" was not found", &types.FileNotFound{FileFault: types.FileFault{File: file}})
	case exitIsDir:
		return simulator.Fault(file+" is not a file", &types.NotAFile{FileFault: types.FileFault{File: file}})
	case exitExists:
		return simulator.Fault("File "+file+" already exists", &types.FileAlreadyExists{FileFault: types.FileFault{File: file}})
	}
	return simulator.Fault(fmt.Sprintf("%s: %s", file, stderr), &types.GuestPermissionDenied{})
}

func newToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ---- GuestProcessManager ----

type processManager struct {
	mo.GuestProcessManager
	ops *guestOps
}

func (p *processManager) StartProgramInGuest(ctx *simulator.Context, req *types.StartProgramInGuest) soap.HasFault {
	body := new(methods.StartProgramInGuestBody)
	g := p.ops
	pid, fault := g.prepare(ctx, req.Vm, req.Auth)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	spec := req.Spec.GetGuestProgramSpec()
	// Tools refuses a program or working directory that is not there before starting anything.
	check := `[ -x "$1" ] || exit 101; [ -z "$2" ] || [ -d "$2" ] || exit 102`
	if code, _, stderr := guestSh(pid, nil, check, spec.ProgramPath, spec.WorkingDirectory); code != 0 {
		file := spec.ProgramPath
		if code == exitIsDir {
			file, code = spec.WorkingDirectory, exitMissing
		}
		body.Fault_ = fileFault(code, file, stderr)
		return body
	}
	// As VMware Tools on Linux does, the command line goes through a shell: arguments may redirect.
	line := shellQuote(spec.ProgramPath) + " " + spec.Arguments
	if spec.WorkingDirectory != "" {
		line = "cd " + shellQuote(spec.WorkingDirectory) + " && " + line
	}
	cmd := enter(pid, "/bin/sh", "-c", line)
	cmd.Env = append(cmd.Env, spec.EnvVariables...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // TerminateProcessInGuest kills the group
	if err := cmd.Start(); err != nil {
		body.Fault_ = simulator.Fault("starting the program failed: "+err.Error(), &types.GuestOperationsUnavailable{})
		return body
	}

	g.mu.Lock()
	g.nextPid++
	proc := &guestProc{cmd: cmd, info: types.GuestProcessInfo{
		Name: path.Base(spec.ProgramPath), Pid: g.nextPid, Owner: g.user,
		CmdLine: `"` + spec.ProgramPath + `" ` + spec.Arguments, StartTime: time.Now(),
	}}
	if g.procs[req.Vm.Value] == nil {
		g.procs[req.Vm.Value] = map[int64]*guestProc{}
	}
	g.procs[req.Vm.Value][proc.info.Pid] = proc
	g.mu.Unlock()

	go func() {
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		end := time.Now()
		g.mu.Lock()
		proc.info.EndTime = &end
		proc.info.ExitCode = int32(code)
		g.mu.Unlock()
	}()

	body.Res = &types.StartProgramInGuestResponse{Returnval: proc.info.Pid}
	return body
}

func (p *processManager) ListProcessesInGuest(ctx *simulator.Context, req *types.ListProcessesInGuest) soap.HasFault {
	body := new(methods.ListProcessesInGuestBody)
	g := p.ops
	if _, fault := g.prepare(ctx, req.Vm, req.Auth); fault != nil {
		body.Fault_ = fault
		return body
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []types.GuestProcessInfo
	procs := g.procs[req.Vm.Value]
	if len(req.Pids) == 0 {
		for _, proc := range procs {
			out = append(out, proc.info)
		}
	}
	for _, pid := range req.Pids {
		if proc, ok := procs[pid]; ok {
			out = append(out, proc.info)
		}
	}
	body.Res = &types.ListProcessesInGuestResponse{Returnval: out}
	return body
}

func (p *processManager) TerminateProcessInGuest(ctx *simulator.Context, req *types.TerminateProcessInGuest) soap.HasFault {
	body := new(methods.TerminateProcessInGuestBody)
	g := p.ops
	if _, fault := g.prepare(ctx, req.Vm, req.Auth); fault != nil {
		body.Fault_ = fault
		return body
	}
	g.mu.Lock()
	proc, ok := g.procs[req.Vm.Value][req.Pid]
	running := ok && proc.info.EndTime == nil
	g.mu.Unlock()
	if !running {
		body.Fault_ = simulator.Fault(fmt.Sprintf("no running process %d", req.Pid), &types.GuestProcessNotFound{Pid: req.Pid})
		return body
	}
	_ = syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGKILL)
	body.Res = &types.TerminateProcessInGuestResponse{}
	return body
}

// ---- GuestFileManager ----

type fileManager struct {
	mo.GuestFileManager
	ops *guestOps
}

func (f *fileManager) InitiateFileTransferFromGuest(ctx *simulator.Context, req *types.InitiateFileTransferFromGuest) soap.HasFault {
	body := new(methods.InitiateFileTransferFromGuestBody)
	g := f.ops
	pid, fault := g.prepare(ctx, req.Vm, req.Auth)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	// The file is read when the transfer is initiated (stat on stderr, content on stdout).
	script := `[ -e "$1" ] || exit 101; [ -d "$1" ] && exit 102; stat -c '%a %u %g %Y' -- "$1" >&2 && exec cat -- "$1"`
	code, data, stderr := guestSh(pid, nil, script, req.GuestFilePath)
	if code != 0 {
		body.Fault_ = fileFault(code, req.GuestFilePath, stderr)
		return body
	}
	attrs := &types.GuestPosixFileAttributes{}
	var mode, uid, gid, mtime int64
	if n, _ := fmt.Sscanf(stderr, "%o %d %d %d", &mode, &uid, &gid, &mtime); n == 4 {
		u, gr, t := int32(uid), int32(gid), time.Unix(mtime, 0)
		attrs.Permissions, attrs.OwnerId, attrs.GroupId, attrs.ModificationTime = mode, &u, &gr, &t
	}
	url := g.issue(&ticket{pid: pid, path: req.GuestFilePath, data: data})
	body.Res = &types.InitiateFileTransferFromGuestResponse{Returnval: types.FileTransferInformation{
		Attributes: attrs, Size: int64(len(data)), Url: url,
	}}
	return body
}

func (f *fileManager) InitiateFileTransferToGuest(ctx *simulator.Context, req *types.InitiateFileTransferToGuest) soap.HasFault {
	body := new(methods.InitiateFileTransferToGuestBody)
	g := f.ops
	pid, fault := g.prepare(ctx, req.Vm, req.Auth)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	script := `[ -d "$1" ] && exit 102; [ -d "$(dirname -- "$1")" ] || exit 101; [ -e "$1" ] && exit 103; exit 0`
	code, _, stderr := guestSh(pid, nil, script, req.GuestFilePath)
	if code == exitExists && req.Overwrite {
		code = 0
	}
	if code != 0 {
		file := req.GuestFilePath
		if code == exitMissing {
			file = path.Dir(file)
		}
		body.Fault_ = fileFault(code, file, stderr)
		return body
	}
	t := &ticket{pid: pid, path: req.GuestFilePath, upload: true, size: req.FileSize}
	if a, ok := req.FileAttributes.(*types.GuestPosixFileAttributes); ok {
		t.mode, t.owner, t.group = a.Permissions, a.OwnerId, a.GroupId
	}
	body.Res = &types.InitiateFileTransferToGuestResponse{Returnval: g.issue(t)}
	return body
}

func (f *fileManager) CreateTemporaryDirectoryInGuest(ctx *simulator.Context, req *types.CreateTemporaryDirectoryInGuest) soap.HasFault {
	body := new(methods.CreateTemporaryDirectoryInGuestBody)
	pid, fault := f.ops.prepare(ctx, req.Vm, req.Auth)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	dir := req.DirectoryPath
	if dir == "" {
		dir = "/tmp"
	}
	script := `[ -d "$1" ] || exit 101; exec mktemp -d -p "$1" --suffix="$3" "$2XXXXXX"`
	code, out, stderr := guestSh(pid, nil, script, dir, req.Prefix, req.Suffix)
	if code != 0 {
		body.Fault_ = fileFault(code, dir, stderr)
		return body
	}
	body.Res = &types.CreateTemporaryDirectoryInGuestResponse{Returnval: strings.TrimSpace(string(out))}
	return body
}

func (f *fileManager) DeleteFileInGuest(ctx *simulator.Context, req *types.DeleteFileInGuest) soap.HasFault {
	body := new(methods.DeleteFileInGuestBody)
	pid, fault := f.ops.prepare(ctx, req.Vm, req.Auth)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	script := `[ -d "$1" ] && exit 102; [ -e "$1" ] || [ -L "$1" ] || exit 101; exec rm -f -- "$1"`
	if code, _, stderr := guestSh(pid, nil, script, req.FilePath); code != 0 {
		body.Fault_ = fileFault(code, req.FilePath, stderr)
		return body
	}
	body.Res = &types.DeleteFileInGuestResponse{}
	return body
}

func (f *fileManager) DeleteDirectoryInGuest(ctx *simulator.Context, req *types.DeleteDirectoryInGuest) soap.HasFault {
	body := new(methods.DeleteDirectoryInGuestBody)
	pid, fault := f.ops.prepare(ctx, req.Vm, req.Auth)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	script := `[ -d "$1" ] || exit 101; if [ "$2" = true ]; then exec rm -rf -- "$1"; else exec rmdir -- "$1"; fi`
	if code, _, stderr := guestSh(pid, nil, script, req.DirectoryPath, strconv.FormatBool(req.Recursive)); code != 0 {
		body.Fault_ = fileFault(code, req.DirectoryPath, stderr)
		return body
	}
	body.Res = &types.DeleteDirectoryInGuestResponse{}
	return body
}

// ---- transfers over HTTPS ----

func (g *guestOps) issue(t *ticket) string {
	id, token := newToken()[:12], newToken()
	t.expires = time.Now().Add(ticketLife)
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, old := range g.tickets {
		if time.Now().After(old.expires) {
			delete(g.tickets, k)
		}
	}
	g.tickets[id+":"+token] = t
	return fmt.Sprintf("https://*:%s%s?id=%s&token=%s", g.port, guestPath, id, token)
}

// serveTransfer is the URL a transfer ticket names: GET for a download, PUT for an upload, once.
func (g *guestOps) serveTransfer(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("id") + ":" + r.URL.Query().Get("token")
	g.mu.Lock()
	t, ok := g.tickets[key]
	if ok && (time.Now().After(t.expires) || t.upload != (r.Method == http.MethodPut)) {
		ok = false
	}
	if ok {
		delete(g.tickets, key)
	}
	g.mu.Unlock()
	if !ok {
		http.Error(w, "no such transfer (unknown, used or expired ticket, or wrong method)", http.StatusNotFound)
		return
	}
	if !t.upload {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(t.data)))
		_, _ = w.Write(t.data)
		return
	}
	data, err := ioutil.ReadAll(io.LimitReader(r.Body, t.size+1))
	if err != nil || int64(len(data)) != t.size {
		http.Error(w, fmt.Sprintf("expected %d bytes", t.size), http.StatusBadRequest)
		return
	}
	mode := ""
	if t.mode != 0 {
		mode = strconv.FormatInt(t.mode&0o7777, 8)
	}
	owner := ""
	if t.owner != nil && t.group != nil {
		owner = fmt.Sprintf("%d:%d", *t.owner, *t.group)
	}
	script := `umask 077; cat > "$1" || exit 1; [ -z "$2" ] || chmod "$2" "$1" || exit 1; [ -z "$3" ] || chown "$3" "$1"`
	if code, _, stderr := guestSh(t.pid, data, script, t.path, mode, owner); code != 0 {
		log.Printf("guest upload to %s failed: %s", t.path, stderr)
		http.Error(w, "writing "+t.path+" in the guest failed: "+stderr, http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
