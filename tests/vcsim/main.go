// Command vcsim serves govmomi's vCenter simulator for labkit's vSphere tests and benchmark.
//
// Debian's govmomi (0.24.2) ships the simulator as a library only, so labkit builds this small
// front end. It adds what labkit's inventories map modes to and the stock model lacks: a second
// standard port group on every host, a port group name that exists on two switches (for
// tie-breaking tests), networks only one host carries and names no safe alphabet allows
// (placement.go), a TLS certificate chosen by the caller (the built-in one is RSA-1024, which
// OpenSSL refuses), VMware Tools guest operations that run inside netns lab VMs (guestops.go,
// -guest-exec), a log of every SOAP request and reconfigure tasks that outlast their call
// (front.go, -log-requests, -hold-reconfig), and snapshot reverts that restore the VM's devices and
// power state (snapshots.go). It prints one JSON line with the URL, then serves
// until it is terminated.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	dcs := flag.Int("dc", 1, "datacenters")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	hosts := flag.Int("host", 2, "hosts per cluster")
	vms := flag.Int("vm", 4, "VMs per cluster")
	pgs := flag.Int("pg", 2, "distributed port groups per datacenter")
	nsxPgs := flag.Int("nsx-pg", 1, "NSX-backed distributed port groups per datacenter")
	opaque := flag.Int("opaque", 1, "opaque (NSX) networks per datacenter")
	certFile := flag.String("cert", "", "PEM certificate served over TLS (required)")
	keyFile := flag.String("key", "", "PEM private key of -cert (required)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	user := flag.String("user", "labkit", "the only user name accepted")
	password := flag.String("password", "", "the only password accepted (default: from $VCSIM_PASSWORD)")
	reconfigDelay := flag.Int("reconfig-delay", 0, "milliseconds each ReconfigVM_Task call takes")
	guestExec := flag.String("guest-exec", "", "VMNAME=PID[,VMNAME=PID]: run VMNAME's guest operations in the "+
		"netns lab VM whose init has PID (its Tools then report running)")
	guestUser := flag.String("guest-user", "root", "the only guest user name guest operations accept")
	guestPassword := flag.String("guest-password", "", "the only guest password accepted (default: from "+
		"$VCSIM_GUEST_PASSWORD)")
	logRequests := flag.Bool("log-requests", false, "log each SOAP request to stderr as it arrives: "+
		"vcsim-request N METHOD THIS")
	holdReconfig := flag.String("hold-reconfig", "", "VMNAME=MS[,VMNAME=MS]: ReconfigVM_Task on VMNAME "+
		"answers at once with a task that runs MS milliseconds")
	flag.Parse()

	if *certFile == "" || *keyFile == "" {
		log.Fatal("-cert and -key are required")
	}
	if *password == "" {
		*password = os.Getenv("VCSIM_PASSWORD")
	}
	if *password == "" {
		log.Fatal("-password or $VCSIM_PASSWORD is required")
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("loading the certificate: %v", err)
	}

	m := simulator.VPX()
	m.Datacenter = *dcs
	m.Cluster = *clusters
	m.ClusterHost = *hosts
	m.Host = 0
	m.Machine = *vms
	m.Portgroup = *pgs
	m.PortgroupNSX = *nsxPgs
	m.OpaqueNetwork = *opaque
	if err := m.Create(); err != nil {
		log.Fatalf("creating the model: %v", err)
	}
	defer m.Remove()
	uniqueMACs()

	if *guestPassword == "" {
		*guestPassword = os.Getenv("VCSIM_GUEST_PASSWORD")
	}
	mapping, err := parseGuestExec(*guestExec)
	if err != nil {
		log.Fatal(err)
	}
	if len(mapping) > 0 && *guestPassword == "" {
		log.Fatal("-guest-exec needs -guest-password or $VCSIM_GUEST_PASSWORD")
	}
	ops := &guestOps{user: *guestUser, password: *guestPassword, vms: mapping}
	if err := installGuestOps(m, ops); err != nil {
		log.Fatal(err)
	}
	holds, err := parseHolds(*holdReconfig)
	if err != nil {
		log.Fatal(err)
	}

	m.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	m.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *password)}
	s := m.Service.NewServer()
	defer s.Close()
	// Wrapped before any client exists (the lab networks below are the first).
	s.Config.Handler = &front{inner: s.Config.Handler, log: *logRequests, holds: holds}
	ops.setPort(s.URL.Port())

	if err := addLabNetworks(s.URL); err != nil {
		log.Fatalf("adding lab networks: %v", err)
	}
	if *reconfigDelay > 0 {
		// The model's delay config is live: set only now, so building the model stays fast.
		m.DelayConfig.MethodDelay = map[string]int{"ReconfigVM_Task": *reconfigDelay}
	}

	out, _ := json.Marshal(map[string]interface{}{
		"url": "https://" + s.URL.Host + s.URL.Path, "host": s.URL.Hostname(), "port": s.URL.Port(),
	})
	fmt.Println(string(out))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

// uniqueMACs gives each VM's NICs their own MAC (the stock model copies one MAC to every VM),
// 00:50:56:DC:CL:VM from the name DC<d>_C<c>_RP0_VM<v>, in both the device and guest.net.
// Runs before the server starts, so it edits the registry directly.
func uniqueMACs() {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		var d, c, v int
		if n, _ := fmt.Sscanf(vm.Name, "DC%d_C%d_RP0_VM%d", &d, &c, &v); n != 3 {
			continue
		}
		nic := 0
		for i, dev := range vm.Config.Hardware.Device {
			card, ok := dev.(*types.VirtualE1000) // the model's only NIC type
			if !ok {
				continue
			}
			// The model's VMs share one device value (and its pointers): give each its own copy.
			own := *card
			if card.Connectable != nil {
				conn := *card.Connectable
				own.Connectable = &conn
			}
			mac := fmt.Sprintf("00:50:56:%02x:%02x:%02x", d*16+nic, c, v)
			for j := range vm.Guest.Net {
				if vm.Guest.Net[j].DeviceConfigId == own.Key {
					vm.Guest.Net[j].MacAddress = mac
				}
			}
			own.MacAddress = mac
			own.AddressType = string(types.VirtualEthernetCardMacTypeManual)
			vm.Config.Hardware.Device[i] = &own
			nic++
		}
	}
}

// addLabNetworks gives every datacenter a second standard port group ("LabNet", on every host), a
// port group name found on two distributed switches ("LabShared" on DVS0 and on DVS-B in a
// subfolder), and, in the first datacenter, the objects of placement.go.
func addLabNetworks(u *url.URL) error {
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(ctx) }()

	finder := find.NewFinder(c.Client, false)
	dcs, err := finder.DatacenterList(ctx, "*")
	if err != nil {
		return err
	}
	for i, dc := range dcs {
		finder.SetDatacenter(dc)
		hosts, err := hostsOf(ctx, c, dc)
		if err != nil {
			return err
		}
		if len(hosts) == 0 {
			continue
		}
		if err := addStandardPortgroup(ctx, c, dc, "LabNet", hosts); err != nil {
			return err
		}
		folders, err := dc.Folders(ctx)
		if err != nil {
			return err
		}
		if err := addSharedPortgroups(ctx, c, finder, folders, hosts); err != nil {
			return err
		}
		if i == 0 {
			if err := addPlacementObjects(ctx, c, dc, folders, hosts); err != nil {
				return err
			}
		}
	}
	return nil
}

// addSharedPortgroups puts a port group named "LabShared" on DVS0 and on a second switch, DVS-B,
// in a subfolder (names are unique per folder only), so lookups must break the tie.
func addSharedPortgroups(ctx context.Context, c *govmomi.Client, finder *find.Finder,
	folders *object.DatacenterFolders, hosts []types.ManagedObjectReference) error {
	{
		ref, err := finder.Network(ctx, "DVS0")
		if err != nil {
			return nil // no distributed switch in this model (-pg 0 -nsx-pg 0)
		}
		if err := addPortgroup(ctx, ref.(*object.DistributedVirtualSwitch), "LabShared"); err != nil {
			return err
		}
		sub, err := folders.NetworkFolder.CreateFolder(ctx, "lab")
		if err != nil {
			return err
		}
		dvsB, err := createDVS(ctx, c, sub, "DVS-B", hosts)
		if err != nil {
			return err
		}
		if err := addPortgroup(ctx, dvsB, "LabShared"); err != nil {
			return err
		}
	}
	return nil
}

func addPortgroup(ctx context.Context, dvs *object.DistributedVirtualSwitch, name string) error {
	task, err := dvs.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{{Name: name, NumPorts: 128}})
	if err != nil {
		return err
	}
	if err := task.Wait(ctx); err != nil {
		return fmt.Errorf("%s on %s: %w", name, dvs.InventoryPath, err)
	}
	return nil
}

func hostsOf(ctx context.Context, c *govmomi.Client, dc *object.Datacenter) ([]types.ManagedObjectReference, error) {
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, dc.Reference(), []string{"HostSystem"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(ctx) }()
	var hs []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"name"}, &hs); err != nil {
		return nil, err
	}
	refs := make([]types.ManagedObjectReference, 0, len(hs))
	for _, h := range hs {
		refs = append(refs, h.Reference())
	}
	return refs, nil
}
