// The cornerstone3D adapter: a physiotwin Volume (and its labelmap) in three orthogonal viewports and surfaces in a
// 3D viewport, all in the volume's world LPS geometry. The cameras are the ones geometry.ts computes, so picking
// (canvas -> voxel) and the app's test hook use the same numbers cornerstone renders with.
// Only this file imports cornerstone and vtk.js, and only inside createViewer (dynamic imports): the package's entry
// loads in Node (cornerstone's ESM does not), and a page fetches the rendering code when it makes its first viewer.
import type { Types } from '@cornerstonejs/core';
import type { SurfaceMesh, Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import { scalarRange, scalarsToRgb } from './colormap.js';
import type { CanvasSize, OrthoView, ViewCamera, ViewZoom, VolumeGeometry } from './geometry.js';
import { canvasToVoxel, indexToWorldPoint, ORTHO_VIEWS, sliceAxes, viewCamera, voxelToCanvas, worldToCanvas } from './geometry.js';
import type { WindowLevel } from './presets.js';
import { autoWindow, windowRange } from './presets.js';

/** The viewer's four viewports: three slice views and a 3D view. */
export type ViewName = OrthoView | '3d';

/** The elements the viewports render into (each an empty `div` with a size). */
export type ViewerElements = Record<ViewName, HTMLDivElement>;

/** Options of {@link createViewer}. */
export interface ViewerOptions {
  /** Called when the user clicks a slice view inside the volume, with the voxel under the pointer. @default none */
  onPick?: ((view: OrthoView, ijk: Vec3) => void) | undefined;
  /** Called when a slice view shows another slice (mouse wheel, {@link Viewer.setSlice}). @default none */
  onSlice?: ((view: OrthoView, slice: number) => void) | undefined;
}

/** How {@link Viewer.setSurface} colours a mesh. */
export interface SurfaceStyle {
  /** One colour (RGB 0..1) for the whole mesh. @default [0.9, 0.3, 0.3] when no scalars */
  color?: readonly [number, number, number] | undefined;
  /** One value per point, shown on the colormap of colormap.ts (blue low, red high). @default none */
  scalars?: ArrayLike<number> | undefined;
  /** Value range of the colormap. @default the scalars' range */
  range?: readonly [number, number] | undefined;
  /** 0..1. @default 1 */
  opacity?: number | undefined;
}

/** What {@link createViewer} returns. */
export interface Viewer {
  /**
   * Shows a volume in the slice views (replacing any previous one and its labelmap), each at its middle slice, with
   * a window (default {@link autoWindow}).
   * @throws PhysiotwinError `INVALID_ARGUMENT` for a volume cornerstone cannot show (components other than 1, a degenerate geometry).
   */
  setVolume(volume: Volume, window?: WindowLevel): Promise<void>;
  /** Changes the window of the shown volume. @throws PhysiotwinError `INVALID_ARGUMENT` without a volume or for a bad window. */
  setWindow(window: WindowLevel): void;
  /**
   * Overlays a labelmap (non-zero voxels in translucent red) on the slice views; undefined removes it. The overlay is
   * a 2D canvas over each slice view, drawn voxel for voxel with the view's camera (no upload to WebGL), so showing
   * it costs one slice per view, also on a software GL.
   * @throws PhysiotwinError `INVALID_ARGUMENT` when its dims differ from the volume's.
   */
  setLabelmap(labelmap: Volume | undefined): Promise<void>;
  /**
   * Adds (or replaces, by `id`) a surface in the 3D view, in world LPS mm; undefined removes it. The camera fits all
   * surfaces. A large mesh is added in pieces of a few thousand triangles, one per frame (so no frame holds the main
   * thread long); the promise resolves when the whole mesh is shown, or when another call replaced it meanwhile.
   * @throws PhysiotwinError `INVALID_ARGUMENT` when `scalars` is not one per point.
   */
  setSurface(id: string, mesh: SurfaceMesh | undefined, style?: SurfaceStyle): Promise<void>;
  /** Shows slice `slice` (clamped to the volume) in a slice view. @throws PhysiotwinError `INVALID_ARGUMENT` without a volume. */
  setSlice(view: OrthoView, slice: number): void;
  /**
   * Makes voxel `ijk` visible and pickable in a slice view: shows its slice and, when a voxel is smaller than
   * `minPixels` CSS pixels on the canvas, magnifies the view about the voxel until it is that large.
   * @throws PhysiotwinError `INVALID_ARGUMENT` without a volume.
   */
  showVoxel(view: OrthoView, ijk: Vec3, minPixels?: number): void;
  /** Magnifies and pans a slice view (`{}`: the whole volume again). @throws PhysiotwinError `INVALID_ARGUMENT` without a volume or for a bad zoom. */
  setZoom(view: OrthoView, zoom: ViewZoom): void;
  /** The slice a view shows. @throws PhysiotwinError `INVALID_ARGUMENT` without a volume. */
  getSlice(view: OrthoView): number;
  /** The camera a slice view renders with (geometry.ts). @throws PhysiotwinError `INVALID_ARGUMENT` without a volume. */
  camera(view: OrthoView): ViewCamera;
  /** The canvas size of a view, CSS pixels. @throws nothing. */
  canvasSize(view: ViewName): CanvasSize;
  /** Canvas CSS pixels of a world point in a slice view. @throws PhysiotwinError `INVALID_ARGUMENT` without a volume. */
  worldToCanvas(view: OrthoView, world: Vec3): [number, number];
  /** Canvas CSS pixels of voxel `ijk`'s centre in a slice view. @throws PhysiotwinError `INVALID_ARGUMENT` without a volume. */
  voxelToCanvas(view: OrthoView, ijk: Vec3): [number, number];
  /** The voxel under canvas CSS pixels `xy` of a slice view (undefined outside the volume). @throws PhysiotwinError `INVALID_ARGUMENT` without a volume. */
  canvasToVoxel(view: OrthoView, xy: readonly [number, number]): Vec3 | undefined;
  /** The same point as cornerstone computes it (to check that cornerstone renders with our cameras). @throws PhysiotwinError `INVALID_ARGUMENT` without a volume. */
  cornerstoneWorldToCanvas(view: OrthoView, world: Vec3): [number, number];
  /** Re-renders after the elements changed size. @throws nothing. */
  resize(): void;
  /** Frees the viewports, the cached volumes and the GL context. @throws nothing. */
  destroy(): void;
}

let engineCount = 0;

function noVolume(): never {
  throw new PhysiotwinError('INVALID_ARGUMENT', 'viewer: no volume is shown (call setVolume first)');
}

/** Cornerstone takes 8- and 16-bit integers and float32; everything else (rescaled) becomes float32. */
function scalarData(v: Volume): Float32Array | Int16Array | Uint16Array | Uint8Array | Int8Array {
  const slope = v.rescale?.slope ?? 1, intercept = v.rescale?.intercept ?? 0;
  const d = v.data;
  if (slope === 1 && intercept === 0 && (d instanceof Float32Array || d instanceof Int16Array || d instanceof Uint16Array || d instanceof Uint8Array || d instanceof Int8Array)) return d;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]) * slope + intercept;
  return out;
}

function metadata(v: Volume, frameOfReferenceUID: string, w: WindowLevel): Types.Metadata {
  const d = v.direction;
  return {
    BitsAllocated: 32,
    BitsStored: 32,
    SamplesPerPixel: 1,
    HighBit: 31,
    PhotometricInterpretation: 'MONOCHROME2',
    PixelRepresentation: 1,
    Modality: 'CT',
    ImageOrientationPatient: [d[0], d[1], d[2], d[3], d[4], d[5]],
    PixelSpacing: [v.spacing[1], v.spacing[0]],
    FrameOfReferenceUID: frameOfReferenceUID,
    Columns: v.dims[0],
    Rows: v.dims[1],
    voiLut: [{ windowWidth: w.width, windowCenter: w.center }],
    VOILUTFunction: 'LINEAR',
  };
}

/** A vtk.js polydata of a surface (points shared, triangles as a VTK cell array). */
/** What vtk.js's typings leave out of vtkPolyData (inherited from vtkPointSet and vtkDataSet). */
interface PolyDataWithPoints {
  getPoints(): { setData(values: Float32Array, components: number): void };
  getPolys(): { setData(values: Uint32Array): void };
  getPointData(): { setScalars(array: unknown): void };
}

/** Cornerstone and the vtk.js classes the viewer builds with, loaded on first use. */
async function loadRendering() {
  const [cs, dataArray, polyData, actor, mapper] = await Promise.all([
    import('@cornerstonejs/core'),
    import('@kitware/vtk.js/Common/Core/DataArray.js'),
    import('@kitware/vtk.js/Common/DataModel/PolyData.js'),
    import('@kitware/vtk.js/Rendering/Core/Actor.js'),
    import('@kitware/vtk.js/Rendering/Core/Mapper.js'),
  ]);
  return { cs, vtkDataArray: dataArray.default, vtkPolyData: polyData.default, vtkActor: actor.default, vtkMapper: mapper.default };
}
type Rendering = Awaited<ReturnType<typeof loadRendering>>;

/** Triangles per actor: vtk.js builds an actor's GL buffers in JS on its first render (about 2 ms per 1000 triangles on a busy machine), so a large mesh is added in pieces, one per frame, to keep each frame short. */
const TRIANGLES_PER_PIECE = 3000;

/** Triangles [t0, t1) of a mesh as a vtk.js polydata with only the points they use (and those points' colours). */
function meshPiece(vtkPolyData: Rendering['vtkPolyData'], vtkDataArray: Rendering['vtkDataArray'], mesh: SurfaceMesh, t0: number, t1: number, rgb: Uint8Array | undefined) {
  const index = new Map<number, number>();
  const polys = new Uint32Array((t1 - t0) * 4);
  const order: number[] = [];
  for (let t = t0; t < t1; t++) {
    polys[4 * (t - t0)] = 3;
    for (let c = 0; c < 3; c++) {
      const p = mesh.triangles[3 * t + c]!;
      let q = index.get(p);
      if (q === undefined) {
        q = order.length;
        index.set(p, q);
        order.push(p);
      }
      polys[4 * (t - t0) + 1 + c] = q;
    }
  }
  const positions = new Float32Array(3 * order.length);
  const colors = rgb && new Uint8Array(3 * order.length);
  for (let q = 0; q < order.length; q++) {
    const p = order[q]!;
    for (let c = 0; c < 3; c++) {
      positions[3 * q + c] = mesh.positions[3 * p + c]!;
      if (colors) colors[3 * q + c] = rgb![3 * p + c]!;
    }
  }
  const polyData = vtkPolyData.newInstance();
  const pd = polyData as unknown as PolyDataWithPoints;
  pd.getPoints().setData(positions, 3);
  pd.getPolys().setData(polys);
  if (colors) pd.getPointData().setScalars(vtkDataArray.newInstance({ name: 'colors', numberOfComponents: 3, values: colors }));
  return polyData;
}

/**
 * Creates the four viewports in `elements` (cornerstone's RenderingEngine, WebGL), loading cornerstone and vtk.js
 * on the first call. Browser only. Slice views: mouse wheel steps slices, a click picks a voxel (`onPick`). Call
 * `destroy()` when done.
 * @throws PhysiotwinError `GPU_UNAVAILABLE` when cornerstone cannot start (no WebGL 2).
 * @example
 * const viewer = await createViewer({ axial, sagittal, coronal, '3d': view3d }, { onPick: (view, ijk) => console.log(ijk) });
 * await viewer.setVolume(volume, CT_PRESETS.angio);
 */
export async function createViewer(elements: ViewerElements, options: ViewerOptions = {}): Promise<Viewer> {
  const { cs, vtkDataArray, vtkPolyData, vtkActor: vtkActorClass, vtkMapper } = await loadRendering();
  const { cache, Enums, RenderingEngine, volumeLoader } = cs;
  try {
    cs.init();
  } catch (e) {
    throw new PhysiotwinError('GPU_UNAVAILABLE', `viewer: cornerstone could not start (WebGL 2 is needed): ${(e as Error).message}`);
  }
  const id = `physiotwin-${++engineCount}`;
  const engine = new RenderingEngine(id);
  const vpId = (view: ViewName) => `${id}-${view}`;
  engine.setViewports([
    ...ORTHO_VIEWS.map((view) => ({
      viewportId: vpId(view),
      type: Enums.ViewportType.ORTHOGRAPHIC,
      element: elements[view],
      defaultOptions: { orientation: view === 'axial' ? Enums.OrientationAxis.AXIAL : view === 'sagittal' ? Enums.OrientationAxis.SAGITTAL : Enums.OrientationAxis.CORONAL, background: [0, 0, 0] as Types.Point3 },
    })),
    { viewportId: vpId('3d'), type: Enums.ViewportType.VOLUME_3D, element: elements['3d'], defaultOptions: { background: [0.08, 0.08, 0.1] as Types.Point3 } },
  ]);
  const ortho = (view: OrthoView) => engine.getViewport(vpId(view)) as Types.IVolumeViewport;
  const view3d = () => engine.getViewport(vpId('3d'));

  let volume: VolumeGeometry | undefined;
  let volumeId: string | undefined;
  let generation = 0;
  const slices: Record<OrthoView, number> = { axial: 0, sagittal: 0, coronal: 0 };
  const zooms: Record<OrthoView, ViewZoom> = { axial: {}, sagittal: {}, coronal: {} };
  const surfaces = new Map<string, { uids: string[]; bounds: number[]; token: object }>();

  const canvasSize = (view: ViewName): CanvasSize => {
    const c = engine.getViewport(vpId(view))?.canvas;
    return { width: c?.clientWidth || 1, height: c?.clientHeight || 1 };
  };
  const camera = (view: OrthoView): ViewCamera => viewCamera(volume ?? noVolume(), view, canvasSize(view), slices[view], zooms[view]);
  const applyCamera = (view: OrthoView) => {
    if (!volume) return;
    const c = camera(view);
    const vp = ortho(view);
    const dist = 1000;
    vp.setCamera({
      focalPoint: c.focalPoint as Types.Point3,
      position: c.focalPoint.map((x, n) => x + dist * c.viewPlaneNormal[n]!) as Types.Point3,
      viewPlaneNormal: c.viewPlaneNormal as Types.Point3,
      viewUp: c.viewUp as Types.Point3,
      parallelScale: c.parallelScale,
      parallelProjection: true,
    });
    vp.render();
    drawOverlay(view);
  };
  const setSlice = (view: OrthoView, slice: number) => {
    const v = volume ?? noVolume();
    const n = v.dims[sliceAxes(v, view).sliceAxis];
    const s = Math.min(n - 1, Math.max(0, Math.round(slice)));
    const changed = s !== slices[view];
    slices[view] = s;
    applyCamera(view);
    if (changed) options.onSlice?.(view, s);
  };

  // The labelmap overlay: one 2D canvas over each slice view's canvas, drawn from the labelmap's slice with the
  // view's camera (geometry.ts), so an overlay pixel lies exactly over its voxel in the picture cornerstone renders.
  let label: { data: Volume['data']; dims: Vec3 } | undefined;
  const overlays = {} as Record<OrthoView, { canvas: HTMLCanvasElement; image: HTMLCanvasElement; key: string }>;
  for (const view of ORTHO_VIEWS) {
    const canvas = document.createElement('canvas');
    canvas.dataset['physiotwinOverlay'] = view;
    Object.assign(canvas.style, { position: 'absolute', left: '0', top: '0', pointerEvents: 'none', zIndex: '1' });
    elements[view].appendChild(canvas);
    overlays[view] = { canvas, image: document.createElement('canvas'), key: '' };
  }
  const drawOverlay = (view: OrthoView) => {
    const o = overlays[view];
    const base = ortho(view)?.canvas;
    const size = canvasSize(view);
    const dpr = globalThis.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(size.width * dpr)), h = Math.max(1, Math.round(size.height * dpr));
    if (o.canvas.width !== w || o.canvas.height !== h) Object.assign(o.canvas, { width: w, height: h });
    if (base) {
      const er = elements[view].getBoundingClientRect(), br = base.getBoundingClientRect();
      Object.assign(o.canvas.style, { left: `${br.left - er.left - elements[view].clientLeft}px`, top: `${br.top - er.top - elements[view].clientTop}px`, width: `${size.width}px`, height: `${size.height}px` });
    }
    const ctx = o.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!label || !volume) return;
    const v = volume;
    const { sliceAxis, upAxis, rightAxis } = sliceAxes(v, view);
    const slice = slices[view];
    const key = `${view}:${slice}`;
    const nr = v.dims[rightAxis], nu = v.dims[upAxis];
    if (o.key !== key) {
      // The slice as an image: x along the right axis, y along the up axis (the transform below places it).
      const stride = [1, v.dims[0], v.dims[0] * v.dims[1]];
      const sr = stride[rightAxis]!, su = stride[upAxis]!, base0 = slice * stride[sliceAxis]!;
      const img = new ImageData(nr, nu);
      const px = new Uint32Array(img.data.buffer);
      const rgba = new Uint8Array([255, 40, 25, 120]);
      const color = new Uint32Array(rgba.buffer)[0]!;
      const d = label.data;
      for (let y = 0; y < nu; y++) {
        const row = base0 + y * su;
        for (let x = 0; x < nr; x++) if (d[row + x * sr]) px[y * nr + x] = color;
      }
      Object.assign(o.image, { width: nr, height: nu });
      o.image.getContext('2d')?.putImageData(img, 0, 0);
      o.key = key;
    }
    // Image pixel (x, y) covers voxel (right x, up y): its centre (x + 0.5, y + 0.5) goes to that voxel's centre.
    const at = (r: number, u: number): [number, number] => {
      const ijk = [0, 0, 0] as Vec3;
      ijk[sliceAxis] = slice;
      ijk[rightAxis] = r;
      ijk[upAxis] = u;
      return voxelToCanvas(v, camera(view), size, ijk);
    };
    const p0 = at(0, 0), pr = at(1, 0), pu = at(0, 1);
    const ex = [pr[0] - p0[0], pr[1] - p0[1]], ey = [pu[0] - p0[0], pu[1] - p0[1]];
    ctx.setTransform(dpr * ex[0]!, dpr * ex[1]!, dpr * ey[0]!, dpr * ey[1]!, dpr * (p0[0] - 0.5 * ex[0]! - 0.5 * ey[0]!), dpr * (p0[1] - 0.5 * ex[1]! - 0.5 * ey[1]!));
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(o.image, 0, 0);
  };

  const listeners: Array<() => void> = [];
  for (const view of ORTHO_VIEWS) {
    const el = elements[view];
    const wheel = (e: WheelEvent) => {
      if (!volume) return;
      e.preventDefault();
      setSlice(view, slices[view] + (e.deltaY > 0 ? 1 : -1));
    };
    const click = (e: MouseEvent) => {
      if (!volume) return;
      const canvas = ortho(view).canvas;
      const r = canvas.getBoundingClientRect();
      const ijk = canvasToVoxel(volume, camera(view), canvasSize(view), [e.clientX - r.left, e.clientY - r.top]);
      if (ijk) options.onPick?.(view, ijk);
    };
    el.addEventListener('wheel', wheel, { passive: false });
    el.addEventListener('click', click);
    listeners.push(() => {
      el.removeEventListener('wheel', wheel);
      el.removeEventListener('click', click);
    });
  }

  const removeVolumes = () => {
    for (const view of ORTHO_VIEWS) {
      const vp = ortho(view);
      const uids = vp.getActors().map((a) => a.uid);
      if (uids.length) vp.removeVolumeActors(uids);
    }
    if (volumeId) cache.removeVolumeLoadObject(volumeId);
    volumeId = undefined;
    label = undefined;
  };

  // Compiles the 3D view's shader programs now (a translucent single-colour and an opaque per-point-coloured mesh,
  // what the app shows after a run) with one hidden triangle each, so the first real mesh's frame does not pay it.
  {
    const tri = { positions: new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]), triangles: new Uint32Array([0, 1, 2]) };
    const warm = [meshPiece(vtkPolyData, vtkDataArray, tri, 0, 1, undefined), meshPiece(vtkPolyData, vtkDataArray, tri, 0, 1, new Uint8Array(9))].map((polyData, n) => {
      const mapper = vtkMapper.newInstance();
      const actor = vtkActorClass.newInstance();
      if (n === 1) mapper.setColorModeToDirectScalars();
      mapper.setScalarVisibility(n === 1);
      actor.getProperty().setOpacity(n === 0 ? 0.35 : 1);
      mapper.setInputData(polyData);
      actor.setMapper(mapper);
      const uid = `${id}-warm-${n}`;
      view3d().addActor({ uid, actor: actor as unknown as Types.Actor });
      return uid;
    });
    view3d().render();
    requestAnimationFrame(() => setTimeout(() => {
      view3d()?.removeActors(warm);
      view3d()?.render();
    }, 0));
  }

  const viewer: Viewer = {
    async setVolume(v, window) {
      if (v.components !== 1) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: shows scalar volumes (components 1), got ${v.components}`);
      viewCamera(v, 'axial', { width: 1, height: 1 }); // checks the geometry
      const w = window ?? autoWindow(v);
      removeVolumes();
      const g = ++generation;
      volume = { dims: [...v.dims], spacing: [...v.spacing], origin: [...v.origin], direction: [...v.direction] };
      volumeId = `${id}-volume-${g}`;
      volumeLoader.createLocalVolume(volumeId, {
        scalarData: scalarData(v),
        metadata: metadata(v, `${id}-for-${g}`, w),
        dimensions: [...v.dims] as Types.Point3,
        spacing: [...v.spacing] as Types.Point3,
        origin: [...v.origin] as Types.Point3,
        direction: [...v.direction] as Types.Mat3,
      });
      for (const view of ORTHO_VIEWS) {
        slices[view] = Math.floor((v.dims[sliceAxes(v, view).sliceAxis] - 1) / 2);
        zooms[view] = {};
        await ortho(view).setVolumes([{ volumeId }]);
        ortho(view).setProperties({ voiRange: windowRange(w) }, volumeId);
        applyCamera(view);
      }
      // The first view rendered before the others had set the volume drew nothing until its slice changed: render
      // all three again once every view has the volume, and once more on the next frame (the texture is uploaded).
      for (const view of ORTHO_VIEWS) applyCamera(view);
      await new Promise<void>((r) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => r()) : setTimeout(r, 0)));
      if (generation === g) for (const view of ORTHO_VIEWS) applyCamera(view);
    },
    setWindow(w) {
      if (!volumeId) noVolume();
      const range = windowRange(w);
      for (const view of ORTHO_VIEWS) {
        ortho(view).setProperties({ voiRange: range }, volumeId);
        ortho(view).render();
      }
    },
    setLabelmap(labelmap) {
      const v = volume ?? noVolume();
      if (labelmap && labelmap.dims.some((n, c) => n !== v.dims[c])) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: labelmap dims ${labelmap.dims.join('x')} differ from the volume's ${v.dims.join('x')}`);
      label = labelmap ? { data: labelmap.data, dims: [...labelmap.dims] } : undefined;
      for (const view of ORTHO_VIEWS) {
        overlays[view].key = '';
        drawOverlay(view);
      }
      return Promise.resolve();
    },
    async setSurface(sid, mesh, style = {}) {
      const vp = view3d();
      const old = surfaces.get(sid);
      if (old) {
        if (old.uids.length) vp.removeActors(old.uids);
        surfaces.delete(sid);
      }
      let rgb: Uint8Array | undefined;
      if (mesh && style.scalars) {
        const nPoints = mesh.positions.length / 3;
        if (style.scalars.length !== nPoints) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: ${style.scalars.length} scalars for ${nPoints} points`);
        rgb = scalarsToRgb(style.scalars, style.range ?? scalarRange(style.scalars));
      }
      const token = {};
      if (mesh) {
        const bounds = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
        for (let p = 0; p < mesh.positions.length; p++) {
          const c = p % 3;
          bounds[2 * c] = Math.min(bounds[2 * c]!, mesh.positions[p]!);
          bounds[2 * c + 1] = Math.max(bounds[2 * c + 1]!, mesh.positions[p]!);
        }
        surfaces.set(sid, { uids: [], bounds, token });
      }
      if (surfaces.size > 0) {
        // Look along the surfaces' thinnest extent (a vessel from the side), from the patient's front or left or feet.
        const b = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
        for (const { bounds: ab } of surfaces.values()) {
          for (let c = 0; c < 3; c++) {
            b[2 * c] = Math.min(b[2 * c]!, ab[2 * c]!);
            b[2 * c + 1] = Math.max(b[2 * c + 1]!, ab[2 * c + 1]!);
          }
        }
        const ext = [b[1]! - b[0]!, b[3]! - b[2]!, b[5]! - b[4]!];
        const thin = ext.indexOf(Math.min(...ext));
        const normal: Types.Point3 = thin === 0 ? [1, 0, 0] : thin === 1 ? [0, -1, 0] : [0, 0, -1];
        const up: Types.Point3 = thin === 2 ? [0, -1, 0] : [0, 0, 1];
        vp.setCamera({ viewPlaneNormal: normal, viewUp: up, parallelProjection: true });
        vp.resetCamera();
      }
      vp.render();
      if (!mesh) return;
      const nTriangles = mesh.triangles.length / 3;
      for (let t0 = 0, n = 0; t0 < nTriangles; t0 += TRIANGLES_PER_PIECE, n++) {
        if (n > 0 && surfaces.get(sid)?.token !== token) return;
        const polyData = meshPiece(vtkPolyData, vtkDataArray, mesh, t0, Math.min(nTriangles, t0 + TRIANGLES_PER_PIECE), rgb);
        const mapper = vtkMapper.newInstance();
        const actor = vtkActorClass.newInstance();
        if (rgb) {
          mapper.setColorModeToDirectScalars();
          mapper.setScalarVisibility(true);
        } else {
          mapper.setScalarVisibility(false);
          const c = style.color ?? [0.9, 0.3, 0.3];
          actor.getProperty().setColor(c[0], c[1], c[2]);
        }
        actor.getProperty().setOpacity(style.opacity ?? 1);
        mapper.setInputData(polyData);
        actor.setMapper(mapper);
        const uid = `${id}-surface-${sid}-${n}`;
        vp.addActor({ uid, actor: actor as unknown as Types.Actor });
        surfaces.get(sid)!.uids.push(uid);
        // Fits the first piece, then the whole mesh with its last piece (the pieces between keep the camera).
        if (n === 0 || t0 + TRIANGLES_PER_PIECE >= nTriangles) vp.resetCamera();
        vp.render();
        // The piece renders (and vtk.js builds its buffers) in the next frame; the next piece, or the caller's next
        // mesh, comes after it.
        await new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      }
    },
    setSlice,
    showVoxel(view, ijk, minPixels = 3) {
      const v = volume ?? noVolume();
      const { upAxis, rightAxis, sliceAxis } = sliceAxes(v, view);
      slices[view] = Math.min(v.dims[sliceAxis] - 1, Math.max(0, Math.round(ijk[sliceAxis])));
      const c = camera(view);
      const pxPerMm = canvasSize(view).height / 2 / c.parallelScale;
      const voxelPx = Math.min(v.spacing[upAxis], v.spacing[rightAxis]) * pxPerMm;
      if (voxelPx < minPixels) zooms[view] = { scale: (zooms[view].scale ?? 1) * (minPixels / voxelPx), center: indexToWorldPoint(v, ijk) };
      applyCamera(view);
      options.onSlice?.(view, slices[view]);
    },
    setZoom(view, zoom) {
      const v = volume ?? noVolume();
      viewCamera(v, view, canvasSize(view), slices[view], zoom); // checks the zoom
      zooms[view] = { ...zoom };
      applyCamera(view);
    },
    getSlice(view) {
      if (!volume) noVolume();
      return slices[view];
    },
    camera,
    canvasSize,
    worldToCanvas: (view, world) => worldToCanvas(camera(view), canvasSize(view), world),
    voxelToCanvas: (view, ijk) => voxelToCanvas(volume ?? noVolume(), camera(view), canvasSize(view), ijk),
    canvasToVoxel: (view, xy) => canvasToVoxel(volume ?? noVolume(), camera(view), canvasSize(view), xy),
    cornerstoneWorldToCanvas(view, world) {
      if (!volume) noVolume();
      const p = ortho(view).worldToCanvas(world as Types.Point3);
      return [p[0], p[1]];
    },
    resize() {
      engine.resize(true, false);
      if (volume) for (const view of ORTHO_VIEWS) applyCamera(view);
    },
    destroy() {
      for (const off of listeners) off();
      for (const view of ORTHO_VIEWS) overlays[view].canvas.remove();
      removeVolumes();
      engine.destroy();
      volume = undefined;
    },
  };
  return viewer;
}
