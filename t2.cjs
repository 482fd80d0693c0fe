(async()=>{const { viaDaemon, nativeVerdict, coldCli } = require('/work/wt/cold7/dist/cli/launch.cjs');
const u=process.cpuUsage();console.log(((u.user+u.system)/1000).toFixed(1));})()
