package main

// Objects a real vCenter has and the stock model lacks, for labkit's placement and naming tests:
//
//   - networks some hosts do not carry: the standard port group "LabEdge" only on the first
//     host of DC0_C0, and the distributed port group "EdgeDV" on switch "DVS-Edge", whose
//     members are DC0_C0's hosts but not edge-esx01 (vcsim itself refuses a distributed port
//     group to a VM unless every host of the VM's cluster is a member);
//   - names outside any safe alphabet, stored the way vCenter stores them (a '/' in a name is
//     kept as %2f, a '%' as %25): the standard port group "Prod [VLAN 100]" on every host, the
//     folder "Lab%2fTest" (shown as Lab/Test), VMs "web#2" (in that folder), "R&D, Zürich" and
//     "half%2fhalf" (shown as half/half);
//   - two VMs named "twin": one in the VM folder's root on the first host of DC0_C0, one in
//     Lab%2fTest on host "edge-esx01" of a second cluster, "Edge Cluster".
//
// The created VMs are powered off, with one E1000 on "VM Network" and a MAC 00:50:56:ee:00:0N
// (N in the order above: web#2 1, R&D 2, half/half 3, twins 4 and 5).

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// attachNetwork makes a standard network one that `hosts` carry (HostSystem.network, Network.host,
// the cluster's network list) and that ReconfigVM finds by name (Datacenter.network).
func attachNetwork(dc *object.Datacenter, ref types.ManagedObjectReference, hosts []types.ManagedObjectReference) {
	netObj := simulator.Map.Get(ref).(*mo.Network)
	for _, h := range hosts {
		host := simulator.Map.Get(h).(*simulator.HostSystem)
		if simulator.FindReference(host.Network, ref) == nil {
			simulator.Map.AppendReference(host, &host.Network, ref)
		}
		if simulator.FindReference(netObj.Host, h) == nil {
			simulator.Map.AppendReference(netObj, &netObj.Host, h)
		}
		if cr, ok := simulator.Map.Get(*host.Parent).(*simulator.ClusterComputeResource); ok {
			if simulator.FindReference(cr.Network, ref) == nil {
				simulator.Map.AppendReference(cr, &cr.Network, ref)
			}
		}
	}
	dcObj := simulator.Map.Get(dc.Reference()).(*simulator.Datacenter)
	if simulator.FindReference(dcObj.Network, ref) == nil {
		simulator.Map.AddReference(dcObj, &dcObj.Network, ref)
	}
}

// addStandardPortgroup creates a standard port group through the first host's network system
// (the network object is per folder) and attaches it to `hosts`.
func addStandardPortgroup(ctx context.Context, c *govmomi.Client, dc *object.Datacenter,
	name string, hosts []types.ManagedObjectReference) error {
	ns, err := object.NewHostSystem(c.Client, hosts[0]).ConfigManager().NetworkSystem(ctx)
	if err != nil {
		return err
	}
	spec := types.HostPortGroupSpec{Name: name, VswitchName: "vSwitch0", Policy: types.HostNetworkPolicy{}}
	if err := ns.AddPortGroup(ctx, spec); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// By name in the network folder: the finder would read '[' in a name as a glob.
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	folder := simulator.Map.Get(folders.NetworkFolder.Reference()).(*simulator.Folder)
	net := simulator.Map.FindByName(name, folder.ChildEntity)
	if net == nil {
		return fmt.Errorf("%s: not in the network folder after AddPortGroup", name)
	}
	attachNetwork(dc, net.Reference(), hosts)
	return nil
}

func addPlacementObjects(ctx context.Context, c *govmomi.Client, dc *object.Datacenter,
	folders *object.DatacenterFolders, hosts []types.ManagedObjectReference) error {
	if err := addStandardPortgroup(ctx, c, dc, "Prod [VLAN 100]", hosts); err != nil {
		return err
	}
	if err := addStandardPortgroup(ctx, c, dc, "LabEdge", hosts[:1]); err != nil {
		return err
	}
	edge, err := createDVS(ctx, c, folders.NetworkFolder, "DVS-Edge", hosts)
	if err != nil {
		return err
	}
	if err := addPortgroup(ctx, edge, "EdgeDV"); err != nil {
		return err
	}

	labFolder, err := folders.VmFolder.CreateFolder(ctx, "Lab%2fTest")
	if err != nil {
		return err
	}
	cluster, err := folders.HostFolder.CreateCluster(ctx, "Edge Cluster", types.ClusterConfigSpecEx{})
	if err != nil {
		return err
	}
	add, err := cluster.AddHost(ctx, types.HostConnectSpec{HostName: "edge-esx01"}, true, nil, nil)
	if err != nil {
		return err
	}
	info, err := add.WaitForResult(ctx, nil)
	if err != nil {
		return fmt.Errorf("edge-esx01: %w", err)
	}
	edgeRef := info.Result.(types.ManagedObjectReference)
	edgeHost := object.NewHostSystem(c.Client, edgeRef)
	// A new host mounts no datastore: give it the first host's, where its VM's files go.
	first := simulator.Map.Get(hosts[0]).(*simulator.HostSystem)
	added := simulator.Map.Get(edgeRef).(*simulator.HostSystem)
	simulator.Map.AppendReference(added, &added.Datastore, first.Datastore...)

	pool0, err := object.NewHostSystem(c.Client, hosts[0]).ResourcePool(ctx)
	if err != nil {
		return err
	}
	edgePool, err := cluster.ResourcePool(ctx)
	if err != nil {
		return err
	}
	host0 := object.NewHostSystem(c.Client, hosts[0])
	vms := []struct {
		name   string
		folder *object.Folder
		pool   *object.ResourcePool
		host   *object.HostSystem
	}{
		{"web#2", labFolder, pool0, host0},
		{"R&D, Zürich", folders.VmFolder, pool0, host0},
		{"half%2fhalf", folders.VmFolder, pool0, host0},
		{"twin", folders.VmFolder, pool0, host0},
		{"twin", labFolder, edgePool, edgeHost},
	}
	for i, vm := range vms {
		if err := createVM(ctx, vm.folder, vm.name, i+1, vm.pool, vm.host); err != nil {
			return err
		}
	}
	return nil
}

// createDVS makes a distributed switch in `folder` whose members are `hosts`.
func createDVS(ctx context.Context, c *govmomi.Client, folder *object.Folder, name string,
	hosts []types.ManagedObjectReference) (*object.DistributedVirtualSwitch, error) {
	create := types.DVSCreateSpec{ConfigSpec: &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{Name: name}}}
	task, err := folder.CreateDVS(ctx, create)
	if err != nil {
		return nil, err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dvs := object.NewDistributedVirtualSwitch(c.Client, info.Result.(types.ManagedObjectReference))
	var members []types.DistributedVirtualSwitchHostMemberConfigSpec
	for _, h := range hosts {
		members = append(members, types.DistributedVirtualSwitchHostMemberConfigSpec{
			Operation: string(types.ConfigSpecOperationAdd), Host: h,
		})
	}
	// Hosts join through a reconfigure, as the model's own DVS0 does (0.24.2 ignores them at create).
	join, err := dvs.Reconfigure(ctx, &types.DVSConfigSpec{Host: members})
	if err != nil {
		return nil, err
	}
	if err := join.Wait(ctx); err != nil {
		return nil, fmt.Errorf("%s hosts: %w", name, err)
	}
	return dvs, nil
}

func createVM(ctx context.Context, folder *object.Folder, name string, n int, pool *object.ResourcePool,
	host *object.HostSystem) error {
	nic := &types.VirtualE1000{VirtualEthernetCard: types.VirtualEthernetCard{
		VirtualDevice: types.VirtualDevice{
			Key: -1,
			Backing: &types.VirtualEthernetCardNetworkBackingInfo{
				VirtualDeviceDeviceBackingInfo: types.VirtualDeviceDeviceBackingInfo{DeviceName: "VM Network"},
			},
			Connectable: &types.VirtualDeviceConnectInfo{StartConnected: true, AllowGuestControl: true},
		},
		AddressType: string(types.VirtualEthernetCardMacTypeManual),
		MacAddress:  fmt.Sprintf("00:50:56:ee:00:%02x", n),
	}}
	spec := types.VirtualMachineConfigSpec{
		Name:     name,
		GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherGuest),
		NumCPUs:  1,
		MemoryMB: 32,
		Files:    &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[LocalDS_0] labkit-extra-%d/vm.vmx", n)},
		DeviceChange: []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: nic,
		}},
	}
	task, err := folder.CreateVM(ctx, spec, pool, host)
	if err != nil {
		return err
	}
	if _, err := task.WaitForResult(ctx, nil); err != nil {
		return fmt.Errorf("VM %q: %w", name, err)
	}
	return nil
}
