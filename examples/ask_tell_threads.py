"""Ask/tell with your own executor: a thread pool evaluating 4 trials at a time."""

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from parzen import Trials, Tuner, hp, tpe

SPACE = {"x": hp.uniform("x", -5, 5), "y": hp.uniform("y", -5, 5)}


def objective(p):
    return (p["x"] - 1) ** 2 + (p["y"] + 2) ** 2


def main(max_evals: int = 40) -> Trials:
    tuner = Tuner(SPACE, algo=tpe.suggest, rstate=np.random.default_rng(0))
    with ThreadPoolExecutor(4) as pool:
        running = {}
        while tuner.trials.n_finished < max_evals:
            while len(running) < 4 and tuner.trials.n_finished + len(running) < max_evals:
                tid, args = tuner.ask()
                running[pool.submit(objective, args)] = tid
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                tuner.tell(running.pop(future), future.result())
    print("best:", tuner.trials.best_params, "loss", tuner.trials.best_loss)
    return tuner.trials


if __name__ == "__main__":
    main()
