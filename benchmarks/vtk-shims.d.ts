// vtk.js ships no declaration file for ImageMarchingCubes: the part of it that mesh.bench.ts uses.
declare module '@kitware/vtk.js/Filters/General/ImageMarchingCubes.js' {
  import type vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData.js';

  interface vtkImageMarchingCubes {
    setInputData(image: unknown): void;
    getOutputData(): vtkPolyData;
  }
  const vtkImageMarchingCubes: {
    newInstance(initial: { contourValue: number; computeNormals: boolean; mergePoints: boolean }): vtkImageMarchingCubes;
  };
  export default vtkImageMarchingCubes;
}
